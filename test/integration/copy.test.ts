import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { copyImage } from '../../src/copy/index.js';
import { DigestMismatchError, isOcipeekError } from '../../src/errors/index.js';
import type { ImageIndex } from '../../src/media/index.js';
import { openDestination, openSource } from '../../src/places/index.js';
import { RegistryClient } from '../../src/registry/index.js';
import {
  type BuiltImage,
  type BuiltIndex,
  faults,
  inspectRaw,
  LayoutWriter,
  multiPlatformIndex,
  type RunningRegistry,
  randomImage,
  startFaultProxyFor,
  startRegistry,
  tempDir,
  times,
} from '../harness/index.js';

const run = promisify(execFile);

describe('copy: push, mount, chunked upload, platforms', () => {
  let reg: RunningRegistry;
  let reg2: RunningRegistry;
  let layoutDir: { path: string; remove(): Promise<void> };
  let image: BuiltImage;
  let multi: BuiltIndex;
  const client = new RegistryClient();

  before(async () => {
    [reg, reg2] = await Promise.all([startRegistry(), startRegistry()]);
    layoutDir = await tempDir('copy-layout');
    const w = new LayoutWriter(layoutDir.path);
    image = await randomImage(w, { layers: 3, layerSize: 40_000, refName: 'v1' });
    multi = await multiPlatformIndex(w, { attestation: true, refName: 'multi' });
    await w.finish();
  });

  after(async () => {
    await client.close();
    await Promise.all([reg.stop(), reg2.stop()]);
    await layoutDir.remove();
  });

  it('pushes an OCI layout image with identical bytes (skopeo inspect --raw agrees)', async () => {
    const src = await openSource(`oci:${layoutDir.path}:v1`);
    const dst = await openDestination(`${reg.host}/push/app:v1`, { client });
    const result = await copyImage(src, dst);
    await src.close();
    assert.equal(result.digest, image.descriptor.digest);
    assert.equal(result.blobs.copied, 4);
    const raw = await inspectRaw(reg, 'push/app:v1');
    assert.deepEqual(raw, image.manifestBytes);
    for (const layer of image.layers) {
      assert.equal(await client.hasBlob(`${reg.host}/push/app`, layer.digest), layer.size);
    }
    // A second push finds every blob and moves nothing.
    const again = await copyImage(
      await openSource(`oci:${layoutDir.path}:v1`),
      await openDestination(`${reg.host}/push/app:v1`, { client }),
    );
    assert.deepEqual(again.blobs, { copied: 0, skipped: 4, mounted: 0 });
  });

  it('uploads in PATCH chunks following Location, verified', async () => {
    const proxy = await startFaultProxyFor(reg);
    const c = new RegistryClient();
    try {
      const result = await copyImage(
        await openSource(`oci:${layoutDir.path}:v1`),
        await openDestination(`${proxy.host}/chunked/app:v1`, { client: c, chunkSize: 8192 }),
      );
      assert.equal(result.digest, image.descriptor.digest);
      const patches = proxy.log.filter((e) => e.method === 'PATCH');
      const biggest = Math.max(...image.layers.map((l) => l.size));
      assert.ok(patches.length >= Math.ceil(biggest / 8192), `only ${patches.length} PATCHes`);
      assert.ok(patches.every((p) => p.status === 202));
      const ranges = patches.map((p) => String(p.headers['content-range']));
      assert.ok(ranges.includes('0-8191') && ranges.includes('8192-16383'), ranges.join(' '));
      assert.deepEqual(await inspectRaw(reg, 'chunked/app:v1'), image.manifestBytes);
      for (const layer of image.layers) {
        const bytes = await client.readBlob(`${reg.host}/chunked/app`, layer);
        assert.deepEqual(bytes, layer.blob);
      }
    } finally {
      await c.close();
      await proxy.close();
    }
  });

  it('mounts blobs across repositories of one registry instead of uploading', async () => {
    const proxy = await startFaultProxyFor(reg);
    const c = new RegistryClient();
    try {
      const result = await copyImage(
        await openSource(`${proxy.host}/push/app:v1`, { client: c }),
        await openDestination(`${proxy.host}/mounted/app:v1`, { client: c }),
      );
      assert.deepEqual(result.blobs, { copied: 0, skipped: 0, mounted: 4 });
      const mounts = proxy.log.filter((e) => e.method === 'POST' && e.url.includes('mount='));
      assert.equal(mounts.length, 4);
      assert.ok(mounts.every((m) => m.status === 201));
      assert.equal(proxy.log.filter((e) => e.method === 'PATCH').length, 0);
      assert.equal(
        proxy.log.filter((e) => e.method === 'GET' && e.url.includes('/blobs/')).length,
        0,
      );
      assert.equal(
        proxy.log.filter((e) => e.method === 'PUT' && e.url.includes('/blobs/uploads/')).length,
        0,
      );
      assert.deepEqual(await inspectRaw(reg, 'mounted/app:v1'), image.manifestBytes);
    } finally {
      await c.close();
      await proxy.close();
    }
  });

  it('streams registry to registry and keeps a whole index with --all-platforms', async () => {
    await copyImage(
      await openSource(`oci:${layoutDir.path}:multi`),
      await openDestination(`${reg.host}/multi/app:all`, { client }),
      { allPlatforms: true },
    );
    const result = await copyImage(
      await openSource(`${reg.host}/multi/app:all`, { client }),
      await openDestination(`${reg2.host}/copied/app:all`, { client }),
      { allPlatforms: true, concurrency: 2 },
    );
    assert.equal(result.digest, multi.descriptor.digest);
    assert.deepEqual(await inspectRaw(reg2, 'copied/app:all'), multi.indexBytes);
    const att = multi.attestations[0]!;
    assert.deepEqual(
      await inspectRaw(reg2, `copied/app@${att.descriptor.digest}`),
      att.manifestBytes,
    );
  });

  it('rewrites the index for a platform subset and copies one manifest for one platform', async () => {
    const subset = await copyImage(
      await openSource(`${reg.host}/multi/app:all`, { client }),
      await openDestination(`${reg2.host}/subset/app:two`, { client }),
      {
        platforms: [
          { os: 'linux', architecture: 'arm64' },
          { os: 'linux', architecture: 'amd64' },
        ],
      },
    );
    assert.notEqual(subset.digest, multi.descriptor.digest);
    const index = JSON.parse((await inspectRaw(reg2, 'subset/app:two')).toString()) as ImageIndex;
    const kept = new Set(index.manifests.map((d) => d.digest));
    const amd = multi.images[0]!;
    const arm64 = multi.images[1]!;
    const armv7 = multi.images[2]!;
    assert.ok(kept.has(amd.descriptor.digest) && kept.has(arm64.descriptor.digest));
    assert.ok(!kept.has(armv7.descriptor.digest));
    // Attestations of kept images stay, the dropped image's goes.
    assert.ok(kept.has(multi.attestations[0]!.descriptor.digest));
    assert.ok(!kept.has(multi.attestations[2]!.descriptor.digest));
    assert.equal(index.manifests.length, 4);
    assert.equal(
      await client.hasBlob(`${reg2.host}/subset/app`, armv7.layers[0]!.digest),
      undefined,
    );

    const one = await copyImage(
      await openSource(`${reg.host}/multi/app:all`, { client }),
      await openDestination(`${reg2.host}/single/app:arm`, { client }),
      { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    );
    assert.equal(one.digest, armv7.descriptor.digest);
    assert.deepEqual(await inspectRaw(reg2, 'single/app:arm'), armv7.manifestBytes);
  });

  it('never pushes a corrupted blob and names its digest', async () => {
    const layer = image.layers[1]!;
    const proxy = await startFaultProxyFor(reg, {
      onRequest: times(
        99,
        (ctx) => ctx.method === 'GET' && ctx.path.endsWith(layer.digest),
        faults.corruptByteAt(100),
      ),
    });
    const c = new RegistryClient();
    try {
      const err = await copyImage(
        await openSource(`${proxy.host}/push/app:v1`, { client: c }),
        await openDestination(`${reg2.host}/corrupt/app:v1`, { client: c }),
      ).then(
        () => assert.fail('copy succeeded'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof DigestMismatchError, String(err));
      assert.match((err as Error).message, new RegExp(layer.digest));
      assert.equal(await client.hasBlob(`${reg2.host}/corrupt/app`, layer.digest), undefined);
      await assert.rejects(client.headManifest(`${reg2.host}/corrupt/app:v1`), (e: unknown) =>
        isOcipeekError(e, 'ERR_NOT_FOUND'),
      );
    } finally {
      await c.close();
      await proxy.close();
    }
  });

  it('registry upload refuses a stream whose bytes do not match the digest', async () => {
    const layer = image.layers[0]!;
    const bad = Buffer.from(layer.blob);
    bad[10] = bad[10]! ^ 0xff;
    const { Readable } = await import('node:stream');
    await assert.rejects(
      client.uploadBlob(`${reg2.host}/refuse/app`, layer, Readable.from([bad]), {
        chunkSize: 1024,
      }),
      (e: unknown) => e instanceof DigestMismatchError && e.message.includes(layer.digest),
    );
    await assert.rejects(
      client.uploadBlob(`${reg2.host}/refuse/app`, layer, Readable.from([bad])),
      (e: unknown) => isOcipeekError(e) && (e as Error).message.includes(layer.digest),
    );
    assert.equal(await client.hasBlob(`${reg2.host}/refuse/app`, layer.digest), undefined);
  });

  it('CLI: ocipeek copy --json between registries', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'copy',
        `${reg.host}/push/app:v1`,
        `docker://${reg2.host}/cli/app:v1`,
        '--json',
      ],
      { cwd: new URL('../..', import.meta.url).pathname },
    );
    const out = JSON.parse(stdout) as { digest: string; blobs: { copied: number } };
    assert.equal(out.digest, image.descriptor.digest);
    assert.equal(out.blobs.copied, 4);
    assert.deepEqual(await inspectRaw(reg2, 'cli/app:v1'), image.manifestBytes);
  });
});
