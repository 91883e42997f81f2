import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { formatPlatform } from '../../src/platform/index.js';
import {
  type BuiltImage,
  type BuiltIndex,
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

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
}

describe('ocipeek copy --dest-compress-format / --format, checked by skopeo, zstd and gzip', () => {
  let reg: RunningRegistry;
  let dir: { path: string; remove(): Promise<void> };
  let image: BuiltImage;
  let multi: BuiltIndex;
  let n = 0;

  before(async () => {
    reg = await startRegistry();
    dir = await tempDir('cli-copy-convert');
    const layout = join(dir.path, 'layout');
    const w = new LayoutWriter(layout);
    image = await randomImage(w, { layers: 2, layerSize: 100_000, refName: 'v1' });
    multi = await multiPlatformIndex(w, { refName: 'multi' });
    await w.finish();
    await pushLayout(layout, 'v1', reg, 'conv/app:v1');
    await pushLayout(layout, 'multi', reg, 'conv/multi:1');
  });
  after(async () => {
    await reg?.stop();
    await dir?.remove();
  });

  const manifestOf = async (ref: string) => JSON.parse((await inspectRaw(reg, ref)).toString());

  /**
   * skopeo copies `ref` into a layout; each layer is decompressed by the `program` given
   * (zstd -dc, gzip -dc) and must hash to its diff_id in the config.
   */
  async function layersDecompressTo(ref: string, program: string, diffIds: string[]) {
    const out = join(dir.path, `skopeo-${n++}`);
    await skopeo(['copy', '--src-tls-verify=false', `docker://${reg.host}/${ref}`, `oci:${out}:x`]);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    const blob = (d: string) => join(out, 'blobs/sha256', d.slice(7));
    const manifest = JSON.parse(await readFile(blob(index.manifests[0].digest), 'utf8'));
    const got: string[] = [];
    for (const layer of manifest.layers as Desc[]) {
      const { stdout } = await run('sh', ['-c', `${program} -dc < "$0"`, blob(layer.digest)], {
        encoding: 'buffer',
        maxBuffer: 64 << 20,
      });
      got.push(`sha256:${createHash('sha256').update(stdout).digest('hex')}`);
    }
    assert.deepEqual(got, diffIds);
  }

  it('zstd: every layer recompressed, the config kept byte for byte', async () => {
    const r = await runCli([
      'copy',
      `${reg.host}/conv/app:v1`,
      `${reg.host}/conv/app:zstd`,
      '--dest-compress-format',
      'zstd',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.out);
    assert.deepEqual(result.layers, { recompressed: 2, kept: 0 });
    assert.equal(result.sourceDigest, image.descriptor.digest);
    const m = await manifestOf('conv/app:zstd');
    assert.equal(
      result.digest,
      `sha256:${createHash('sha256')
        .update(await inspectRaw(reg, 'conv/app:zstd'))
        .digest('hex')}`,
    );
    assert.deepEqual(m.config, image.configDescriptor);
    assert.deepEqual(
      m.layers.map((l: Desc) => l.mediaType),
      [
        'application/vnd.oci.image.layer.v1.tar+zstd',
        'application/vnd.oci.image.layer.v1.tar+zstd',
      ],
    );
    await layersDecompressTo('conv/app:zstd', 'zstd', image.config.rootfs!.diff_ids);
    // skopeo reads the zstd image as an image: its config and layers.
    const info = JSON.parse(
      await skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/conv/app:zstd`]),
    );
    assert.deepEqual(
      info.Layers,
      m.layers.map((l: Desc) => l.digest),
    );
  });

  it('back to gzip at level 1, from zstd', async () => {
    const r = await runCli([
      'copy',
      `${reg.host}/conv/app:zstd`,
      `${reg.host}/conv/app:gz1`,
      '--dest-compress-format',
      'gzip',
      '--dest-compress-level',
      '1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.out, /layers: 2 recompressed/);
    const m = await manifestOf('conv/app:gz1');
    assert.ok(m.layers.every((l: Desc) => l.mediaType.endsWith('+gzip')));
    await layersDecompressTo('conv/app:gz1', 'gzip', image.config.rootfs!.diff_ids);
  });

  it('--format v2s2: Docker media types, same config and layer blobs; skopeo copies it back to OCI', async () => {
    const r = await runCli([
      'copy',
      `${reg.host}/conv/app:v1`,
      `${reg.host}/conv/app:docker`,
      '--format',
      'v2s2',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.out).layers, { recompressed: 0, kept: 2 });
    const m = await manifestOf('conv/app:docker');
    assert.equal(m.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(m.config.mediaType, 'application/vnd.docker.container.image.v1+json');
    assert.equal(m.config.digest, image.configDescriptor.digest);
    assert.deepEqual(
      m.layers.map((l: Desc) => [l.mediaType, l.digest]),
      image.layers.map((l) => ['application/vnd.docker.image.rootfs.diff.tar.gzip', l.digest]),
    );
    const back = join(dir.path, 'back');
    await skopeo([
      'copy',
      '--src-tls-verify=false',
      '--format',
      'oci',
      `docker://${reg.host}/conv/app:docker`,
      `oci:${back}:x`,
    ]);
    const index = JSON.parse(await readFile(join(back, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].mediaType, 'application/vnd.oci.image.manifest.v1+json');
  });

  it('--all-platforms converts every image of an index into a new index', async () => {
    const r = await runCli([
      'copy',
      `${reg.host}/conv/multi:1`,
      `${reg.host}/conv/multi:zstd`,
      '--all-platforms',
      '--dest-compress-format',
      'zstd',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.out);
    const index = await manifestOf('conv/multi:zstd');
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      result.platforms,
      multi.images.map((i) => formatPlatform(i.descriptor.platform!)),
    );
    assert.equal(index.manifests.length, multi.images.length);
    for (const [i, entry] of (index.manifests as Array<Desc & { platform: unknown }>).entries()) {
      assert.deepEqual(entry.platform, multi.images[i]!.descriptor.platform);
      const child = await manifestOf(`conv/multi@${entry.digest}`);
      assert.ok(child.layers.every((l: Desc) => l.mediaType.endsWith('+zstd')));
      assert.equal(child.config.digest, multi.images[i]!.configDescriptor.digest);
    }
  });

  it('refusals are one clear line: zstd in Docker schema 2, an unknown format', async () => {
    const z = await runCli([
      'copy',
      `${reg.host}/conv/app:v1`,
      `${reg.host}/conv/app:bad`,
      '--format',
      'v2s2',
      '--dest-compress-format',
      'zstd',
    ]);
    assert.equal(z.code, 1);
    assert.match(z.stderr, /^ocipeek: Docker schema 2 has no zstd layers.*\n$/);
    const f = await runCli([
      'copy',
      `${reg.host}/conv/app:v1`,
      `${reg.host}/conv/app:bad`,
      '--format',
      'v3',
    ]);
    assert.equal(f.code, 2);
    assert.match(f.stderr, /--format must be one of oci, v2s2/);
    await assert.rejects(inspectRaw(reg, 'conv/app:bad'));
  });
});
