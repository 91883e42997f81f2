import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { openArchiveSource, packDirectory } from '../../src/archive/index.js';
import { copyImage } from '../../src/copy/index.js';
import { InvalidTarError } from '../../src/errors/index.js';
import type { ImageManifest } from '../../src/media/index.js';
import { openDestination, openSource } from '../../src/places/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import { Store } from '../../src/store/index.js';
import {
  type BuiltImage,
  type BuiltIndex,
  inspectRaw,
  LayoutWriter,
  multiPlatformIndex,
  type RunningRegistry,
  randomImage,
  skopeo,
  skopeoRaw,
  startRegistry,
  tempDir,
} from '../harness/index.js';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;

function tarOf(
  entries: Array<{ name: string; body?: string; type?: 'file' | 'symlink'; linkname?: string }>,
): Promise<Buffer> {
  const p = pack();
  for (const e of entries) {
    if (e.type === 'symlink') p.entry({ name: e.name, type: 'symlink', linkname: e.linkname });
    else p.entry({ name: e.name }, e.body ?? '');
  }
  p.finalize();
  return (async () => {
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  })();
}

describe('archives: oci-archive and docker-archive', () => {
  let reg: RunningRegistry;
  let reg2: RunningRegistry;
  let work: { path: string; remove(): Promise<void> };
  let layout: string;
  let image: BuiltImage;
  let multi: BuiltIndex;
  const client = new RegistryClient();
  const skopeoOpts = ['--insecure-policy'];

  before(async () => {
    [reg, reg2] = await Promise.all([startRegistry(), startRegistry()]);
    work = await tempDir('archives');
    layout = join(work.path, 'layout');
    const w = new LayoutWriter(layout);
    image = await randomImage(w, { layers: 2, refName: 'v1' });
    multi = await multiPlatformIndex(w, { attestation: true, refName: 'multi' });
    await w.finish();
    await copyImage(
      await openSource(`oci:${layout}:multi`),
      await openDestination(`${reg.host}/src/multi:1`, { client }),
      { allPlatforms: true },
    );
  });

  after(async () => {
    await client.close();
    await Promise.all([reg.stop(), reg2.stop()]);
    await work.remove();
  });

  it('round-trips registry -> oci-archive -> another registry with identical digests', async () => {
    const file = join(work.path, 'multi.tar');
    const src = await openSource(`${reg.host}/src/multi:1`, { client });
    const out = await copyImage(
      src,
      await openDestination(`oci-archive:${file}`, { imageName: src.imageName }),
      { allPlatforms: true },
    );
    assert.equal(out.digest, multi.descriptor.digest);
    // skopeo reads what we wrote, byte for byte.
    const raw = await skopeoRaw(['inspect', '--raw', `oci-archive:${file}`]);
    assert.deepEqual(raw, multi.indexBytes);
    const back = await openSource(`oci-archive:${file}`);
    assert.equal(back.imageName, `${reg.host}/src/multi:1`);
    const result = await copyImage(
      back,
      await openDestination(`${reg2.host}/dst/multi:1`, { client }),
      {
        allPlatforms: true,
      },
    );
    await back.close();
    assert.equal(result.digest, multi.descriptor.digest);
    assert.deepEqual(await inspectRaw(reg2, 'dst/multi:1'), multi.indexBytes);
    for (const img of multi.images) {
      assert.deepEqual(
        await inspectRaw(reg2, `dst/multi@${img.descriptor.digest}`),
        img.manifestBytes,
      );
    }
  });

  it('writes a docker-archive skopeo loads (layers uncompressed, config kept)', async () => {
    const file = join(work.path, 'docker.tar');
    const result = await copyImage(
      await openSource(`oci:${layout}:v1`),
      await openDestination(`docker-archive:${file}:example.com/demo/app:v1`),
    );
    assert.equal(result.digest, image.configDescriptor.digest);
    const manifest = JSON.parse(
      (await skopeoRaw(['inspect', '--raw', `docker-archive:${file}`])).toString(),
    ) as ImageManifest;
    assert.equal(manifest.config.digest, image.configDescriptor.digest);
    assert.deepEqual(
      manifest.layers.map((l) => l.digest),
      image.layers.map((l) => l.diffId),
    );
    const dir = join(work.path, 'from-docker');
    await skopeo([...skopeoOpts, 'copy', `docker-archive:${file}`, `oci:${dir}:x`]);
    const loaded = await Store.open(dir, { create: false });
    const desc = await loaded.layout.resolve('x');
    const m = JSON.parse((await loaded.readBlob(desc!.digest)).toString()) as ImageManifest;
    assert.equal(m.config.digest, image.configDescriptor.digest);
    // And ocipeek reads its own docker archive back, tag included.
    const again = await openArchiveSource(file, undefined);
    assert.equal(again.format, 'docker-archive');
    assert.equal(again.imageName, 'example.com/demo/app:v1');
    await again.close();
  });

  it('imports archives skopeo wrote (docker-archive and oci-archive) into the store', async () => {
    const dockerFile = join(work.path, 'skopeo-docker.tar');
    const ociFile = join(work.path, 'skopeo-oci.tar');
    await skopeo([
      ...skopeoOpts,
      'copy',
      `oci:${layout}:v1`,
      `docker-archive:${dockerFile}:demo/app:v1`,
    ]);
    await skopeo([...skopeoOpts, 'copy', `oci:${layout}:v1`, `oci-archive:${ociFile}:v1`]);
    const storeDir = join(work.path, 'store');
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--store', storeDir, ...args], {
        cwd: ROOT,
      });
    const fromDocker = JSON.parse((await cli('import', dockerFile, '--json')).stdout) as {
      digest: string;
    };
    const fromOci = JSON.parse(
      (await cli('import', ociFile, 'example.com/imported/oci:v1', '--json')).stdout,
    ) as { digest: string };
    assert.equal(fromOci.digest, image.descriptor.digest);
    const store = await Store.open(storeDir, { create: false });
    const names = (await store.refs()).map((r) => r.name).sort();
    assert.deepEqual(names, ['docker.io/demo/app:v1', 'example.com/imported/oci:v1']);
    const d = await store.resolve('demo/app:v1');
    assert.equal(d?.digest, fromDocker.digest);
    const m = JSON.parse((await store.readBlob(d!.digest)).toString()) as ImageManifest;
    assert.equal(m.config.digest, image.configDescriptor.digest);
    assert.deepEqual(
      m.layers.map((l) => l.digest),
      image.layers.map((l) => l.diffId),
    );
    assert.deepEqual(await store.validate(), []);
  });

  it('reads the OCI-layout form of docker save, keeping the OCI manifest digest', async () => {
    const dir = join(work.path, 'docker25');
    await skopeo([...skopeoOpts, 'copy', `oci:${layout}:v1`, `oci:${dir}:v1`]);
    const entry = {
      Config: `blobs/sha256/${image.configDescriptor.digest.slice(7)}`,
      RepoTags: ['demo/new:v1'],
      Layers: image.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
    };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify([entry]));
    const file = join(work.path, 'docker25.tar');
    await packDirectory(dir, file);
    const src = await openArchiveSource(file, undefined);
    assert.equal(src.format, 'docker-archive');
    assert.equal(src.imageName, 'demo/new:v1');
    const root = await src.root();
    assert.equal(root.digest, image.descriptor.digest);
    await src.close();
  });

  it('reads a gzip-compressed oci-archive', async () => {
    const file = join(work.path, 'v1.tar');
    await skopeo([...skopeoOpts, 'copy', `oci:${layout}:v1`, `oci-archive:${file}:v1`]);
    const gz = join(work.path, 'v1.tar.gz');
    await writeFile(gz, gzipSync(await readFile(file)));
    const src = await openSource(`oci-archive:${gz}:v1`);
    assert.deepEqual((await src.root()).bytes, image.manifestBytes);
    await src.close();
  });

  it('reads an oci-archive made with tar -C LAYOUT . (entries start with ./)', async () => {
    const file = join(work.path, 'dot.tar');
    execFileSync('tar', ['-cf', file, '-C', layout, '.']);
    assert.match(execFileSync('tar', ['-tf', file], { encoding: 'utf8' }), /^\.\/\n/);
    const src = await openSource(`oci-archive:${file}:v1`);
    assert.deepEqual((await src.root()).bytes, image.manifestBytes);
    await src.close();
  });

  it('refuses a truncated archive with a clear error and leaves the destination as it was', async () => {
    const file = join(work.path, 'multi.tar');
    const size = (await stat(file)).size;
    const dest = join(work.path, 'dest-layout');
    await copyImage(await openSource(`oci:${layout}:v1`), await openDestination(`oci:${dest}:v1`));
    const before = await readFile(join(dest, 'index.json'));
    const blobsBefore = await readdir(join(dest, 'blobs', 'sha256'));
    // Mid-header, mid-content, and exactly on an entry boundary (no end marker).
    for (const at of [700, Math.floor(size / 2) + 100, 1024 * 3, size - 1024]) {
      const cut = join(work.path, 'cut.tar');
      await writeFile(cut, (await readFile(file)).subarray(0, at));
      await assert.rejects(
        (async () => {
          const src = await openSource(`oci-archive:${cut}`);
          await copyImage(src, await openDestination(`oci:${dest}:cut`), { allPlatforms: true });
        })(),
        (e: unknown) => e instanceof InvalidTarError && e.message.includes('truncated'),
        `cut at ${at}`,
      );
    }
    assert.deepEqual(await readFile(join(dest, 'index.json')), before);
    assert.deepEqual(await readdir(join(dest, 'blobs', 'sha256')), blobsBefore);
  });

  it('refuses ../ and absolute entries before writing them', async () => {
    const outside = join(work.path, 'escaped.txt');
    for (const name of ['../escaped.txt', '/tmp/escaped.txt', 'a/../../escaped.txt']) {
      const file = join(work.path, 'evil.tar');
      await writeFile(
        file,
        await tarOf([
          { name: 'oci-layout', body: '{}' },
          { name, body: 'x' },
        ]),
      );
      await assert.rejects(openSource(`oci-archive:${file}`), (e: unknown) => {
        return e instanceof InvalidTarError && e.message.includes(name);
      });
    }
    const file = join(work.path, 'evil-link.tar');
    await writeFile(
      file,
      await tarOf([{ name: 'index.json', type: 'symlink', linkname: '../../etc/passwd' }]),
    );
    await assert.rejects(openSource(`oci-archive:${file}`), InvalidTarError);
    await assert.rejects(stat(outside), { code: 'ENOENT' });
  });
});
