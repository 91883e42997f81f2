import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  type BuiltImage,
  inspectRaw,
  LayoutWriter,
  multiPlatformIndex,
  pushLayout,
  type RunningRegistry,
  randomImage,
  skopeo,
  startRegistry,
  tempDir,
} from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';

const run = promisify(execFile);

describe('ocipeek mutate, append, flatten, rebase: images skopeo and umoci accept', () => {
  let reg: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };
  let base: BuiltImage;
  let base2: BuiltImage;
  let n = 0;

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('cli-mutate');
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    base = await randomImage(w, {
      refName: 'base',
      labels: { keep: 'yes' },
      env: ['PATH=/bin', 'A=1'],
      layerEntries: [
        [
          { path: 'etc/', type: 'dir' },
          { path: 'etc/base', content: 'base one\n' },
        ],
        [{ path: 'etc/second', content: 'second\n' }],
      ],
    });
    base2 = await randomImage(w, {
      refName: 'base2',
      layerEntries: [
        [
          { path: 'etc/', type: 'dir' },
          { path: 'etc/new-base', content: 'base two\n' },
        ],
      ],
    });
    await w.finish();
    await pushLayout(layout, 'base', reg, 'mut/base:1');
    await pushLayout(layout, 'base2', reg, 'mut/base:2');
  });
  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  const ref = (tag: string) => `${reg.host}/mut/app:${tag}`;
  const inspect = async (tag: string) =>
    JSON.parse(await skopeo(['inspect', '--tls-verify=false', `docker://${ref(tag)}`]));

  /** skopeo copies the image into a layout, umoci unpacks it (checking diff_ids); the tree's files. */
  async function umociFiles(tag: string): Promise<Record<string, string>> {
    const layout = join(dir.path, `umoci-${n}`);
    const rootfs = join(dir.path, `rootfs-${n++}`);
    await skopeo(['copy', '--src-tls-verify=false', `docker://${ref(tag)}`, `oci:${layout}:x`]);
    await run('umoci', ['raw', 'unpack', '--rootless', '--image', `${layout}:x`, rootfs]);
    const files: Record<string, string> = {};
    const walk = async (rel: string) => {
      for (const e of await readdir(join(rootfs, rel), { withFileTypes: true })) {
        const p = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) files[p] = await readFile(join(rootfs, p), 'utf8');
        else files[p] = '<link>';
      }
    };
    await walk('');
    return files;
  }

  it('mutate changes the config only: labels, env, entrypoint; the layers stay', async () => {
    const r = await runCli([
      'mutate',
      `${reg.host}/mut/base:1`,
      '-t',
      ref('mutated'),
      '--label',
      'org.example=1',
      '--env',
      'A=2',
      '--env',
      'B=3',
      '--entrypoint',
      '["/bin/sh","-c"]',
      '--user',
      'nobody',
      '--annotation',
      'org.example.note=hi',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const info = await inspect('mutated');
    assert.deepEqual(info.Labels, { keep: 'yes', 'org.example': '1' });
    assert.deepEqual(info.Env, ['PATH=/bin', 'A=2', 'B=3']);
    assert.deepEqual(
      info.Layers,
      base.layers.map((l) => l.digest),
    );
    const raw = JSON.parse((await inspectRaw(reg, 'mut/app:mutated')).toString());
    assert.equal(raw.annotations['org.example.note'], 'hi');
    const config = JSON.parse(
      await skopeo(['inspect', '--config', '--tls-verify=false', `docker://${ref('mutated')}`]),
    );
    assert.deepEqual(config.config.Entrypoint, ['/bin/sh', '-c']);
    assert.equal(config.config.User, 'nobody');
    assert.deepEqual(config.rootfs.diff_ids, base.config.rootfs.diff_ids);
    assert.deepEqual(await umociFiles('mutated'), {
      'etc/base': 'base one\n',
      'etc/second': 'second\n',
    });
  });

  it('append adds a folder and a tar as layers; umoci unpacks them', async () => {
    const folder = join(dir.path, 'add');
    await mkdir(join(folder, 'app'), { recursive: true });
    await writeFile(join(folder, 'app/main.sh'), '#!/bin/sh\necho app\n', { mode: 0o755 });
    await symlink('main.sh', join(folder, 'app/run'));
    const tarFile = join(dir.path, 'extra.tar');
    const src = join(dir.path, 'extra-src');
    await mkdir(join(src, 'etc'), { recursive: true });
    await writeFile(join(src, 'etc/extra'), 'from a tar\n');
    await run('tar', ['-cf', tarFile, '-C', src, 'etc']);
    const r = await runCli([
      'append',
      `${reg.host}/mut/base:1`,
      '-f',
      folder,
      '-f',
      tarFile,
      '-t',
      ref('appended'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const info = await inspect('appended');
    assert.equal(info.Layers.length, 4);
    assert.deepEqual(
      info.Layers.slice(0, 2),
      base.layers.map((l) => l.digest),
    );
    assert.deepEqual(await umociFiles('appended'), {
      'app/main.sh': '#!/bin/sh\necho app\n',
      'app/run': '<link>',
      'etc/base': 'base one\n',
      'etc/second': 'second\n',
      'etc/extra': 'from a tar\n',
    });
    const config = JSON.parse(
      await skopeo(['inspect', '--config', '--tls-verify=false', `docker://${ref('appended')}`]),
    );
    assert.equal(config.history.length, 4);
    assert.match(config.history[3].created_by, /ocipeek append .*extra\.tar/);
  });

  it('flatten writes one layer with the same files', async () => {
    const r = await runCli(['flatten', ref('appended'), '-t', ref('flat')]);
    assert.equal(r.code, 0, r.stderr);
    const info = await inspect('flat');
    assert.equal(info.Layers.length, 1);
    assert.deepEqual(await umociFiles('flat'), await umociFiles('appended'));
  });

  it('rebase moves the own layers onto another base; a wrong old base is refused', async () => {
    const r = await runCli([
      'rebase',
      ref('appended'),
      '--old-base',
      `${reg.host}/mut/base:1`,
      '--new-base',
      `${reg.host}/mut/base:2`,
      '-t',
      ref('rebased'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const appended = await inspect('appended');
    const info = await inspect('rebased');
    assert.deepEqual(info.Layers, [base2.layers[0]!.digest, ...appended.Layers.slice(2)]);
    assert.deepEqual(await umociFiles('rebased'), {
      'app/main.sh': '#!/bin/sh\necho app\n',
      'app/run': '<link>',
      'etc/new-base': 'base two\n',
      'etc/extra': 'from a tar\n',
    });
    const wrong = await runCli([
      'rebase',
      ref('appended'),
      '--old-base',
      `${reg.host}/mut/base:2`,
      '--new-base',
      `${reg.host}/mut/base:1`,
      '-t',
      ref('wrong'),
    ]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /is not built on/);
  });

  it('an index: mutate and append edit every platform into a new index, --platform edits one, rebase asks for --platform', async () => {
    const layout = join(dir.path, 'multi-layout');
    const w = new LayoutWriter(layout);
    const multi = await multiPlatformIndex(w, { attestation: true, refName: 'multi' });
    await w.finish();
    await pushLayout(layout, 'multi', reg, 'mut/multi:1');
    const src = `${reg.host}/mut/multi:1`;
    const platformArgs = (p: { os: string; architecture: string; variant?: string }) => [
      '--override-os',
      p.os,
      '--override-arch',
      p.architecture,
      ...(p.variant ? ['--override-variant', p.variant] : []),
    ];

    const r = await runCli([
      'mutate',
      src,
      '-t',
      ref('multi-mutated'),
      '--label',
      'org.example=1',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      'note: 3 attestation manifest(s) left out: they describe the images before the edit\n',
    );
    const out = JSON.parse(r.out) as {
      digest: string;
      images: Array<{ platform: string; from: string; digest: string }>;
    };
    const rawBytes = await inspectRaw(reg, 'mut/app:multi-mutated');
    const raw = JSON.parse(rawBytes.toString());
    assert.equal(out.digest, `sha256:${createHash('sha256').update(rawBytes).digest('hex')}`);
    assert.equal(raw.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      raw.manifests.map((m: { platform: unknown }) => m.platform),
      multi.images.map((i) => i.descriptor.platform),
    );
    assert.deepEqual(
      out.images.map((i) => [i.platform, i.from, i.digest]),
      multi.images.map((image, i) => [
        ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7'][i],
        image.descriptor.digest,
        raw.manifests[i].digest,
      ]),
    );
    for (const image of multi.images) {
      const info = JSON.parse(
        await skopeo([
          'inspect',
          '--tls-verify=false',
          ...platformArgs(image.descriptor.platform!),
          `docker://${ref('multi-mutated')}`,
        ]),
      );
      // skopeo names the index's digest, the one ocipeek printed.
      assert.equal(info.Digest, out.digest);
      assert.deepEqual(info.Labels, { ...image.config.config?.Labels, 'org.example': '1' });
      assert.deepEqual(
        info.Layers,
        image.layers.map((l) => l.digest),
      );
    }
    // Every blob the new index names is there: skopeo copies all of it.
    await skopeo([
      'copy',
      '--all',
      '--src-tls-verify=false',
      `docker://${ref('multi-mutated')}`,
      `oci:${join(dir.path, 'multi-copy')}:x`,
    ]);

    const one = await runCli([
      'mutate',
      src,
      '--platform',
      'linux/arm64',
      '-t',
      ref('multi-arm64'),
      '--label',
      'org.example=2',
    ]);
    assert.equal(one.code, 0, one.stderr);
    const oneRaw = JSON.parse((await inspectRaw(reg, 'mut/app:multi-arm64')).toString());
    assert.equal(oneRaw.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(
      oneRaw.layers.map((l: { digest: string }) => l.digest),
      multi.images[1]!.layers.map((l) => l.digest),
    );

    const folder = join(dir.path, 'multi-add');
    await mkdir(folder);
    await writeFile(join(folder, 'added.txt'), 'on every platform\n');
    const a = await runCli(['append', src, '-f', folder, '-t', ref('multi-appended')]);
    assert.equal(a.code, 0, a.stderr);
    const appended = JSON.parse((await inspectRaw(reg, 'mut/app:multi-appended')).toString());
    assert.equal(appended.manifests.length, 3);
    const tops = new Set<string>();
    for (const [i, m] of (appended.manifests as Array<{ digest: string }>).entries()) {
      const child = JSON.parse((await inspectRaw(reg, `mut/app@${m.digest}`)).toString());
      assert.deepEqual(
        child.layers.slice(0, -1).map((l: { digest: string }) => l.digest),
        multi.images[i]!.layers.map((l) => l.digest),
      );
      tops.add(child.layers.at(-1).digest);
    }
    assert.equal(tops.size, 1, 'the added folder is one layer, shared by every platform');
    const cat = await runCli([
      'cat',
      '--platform',
      'linux/arm/v7',
      ref('multi-appended'),
      '/added.txt',
    ]);
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.out, 'on every platform\n');

    const flat = await runCli(['flatten', ref('multi-appended'), '-t', ref('multi-flat')]);
    assert.equal(flat.code, 0, flat.stderr);
    const flatIndex = JSON.parse((await inspectRaw(reg, 'mut/app:multi-flat')).toString());
    assert.equal(flatIndex.manifests.length, 3);
    for (const m of flatIndex.manifests as Array<{ digest: string }>) {
      const child = JSON.parse((await inspectRaw(reg, `mut/app@${m.digest}`)).toString());
      assert.equal(child.layers.length, 1);
    }
    const flatCat = await runCli([
      'cat',
      '--platform',
      'linux/arm64',
      ref('multi-flat'),
      '/added.txt',
    ]);
    assert.equal(flatCat.out, 'on every platform\n');

    const rebase = await runCli([
      'rebase',
      src,
      '--old-base',
      `${reg.host}/mut/base:1`,
      '--new-base',
      `${reg.host}/mut/base:2`,
      '-t',
      ref('multi-rebased'),
    ]);
    assert.equal(rebase.code, 2);
    assert.equal(
      rebase.stderr,
      `ocipeek: ${src} is an index (linux/amd64, linux/arm64/v8, linux/arm/v7): rebase edits one image, name it with --platform\n`,
    );
  });
});
