import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  type BuiltImage,
  inspectRaw,
  LayoutWriter,
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
});
