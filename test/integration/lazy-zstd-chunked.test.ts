import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isOcipeekError } from '../../src/errors/index.js';
import { buildFilesystem } from '../../src/image/index.js';
import { openLazyFile, openLazyImage } from '../../src/lazy/index.js';
import type { RegistryClient } from '../../src/registry/index.js';
import type { OpenedImage } from '../../src/source/index.js';
import { convertToZstdChunked, pushLayout } from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';
import { type LazyFixture, readAll, sha, shape, startLazyFixture } from './lazy-fixture.js';

/**
 * 8 MiB: skopeo cuts a file into chunks of ~56 KiB, so this is ~150 chunks, each its own
 * zstd frame and each checked (the 64 MiB file of the eStargz tests is ~1200 chunks, which
 * kept this file past the runner's 300 s per file on two busy cores while every chunk
 * started a zstd process).
 */
const BIG = 8 * 1024 * 1024;

describe('zstd:chunked written by skopeo 1.9.3', () => {
  let fixture: LazyFixture;
  let zc: OpenedImage;
  let zclient: RegistryClient;
  const blobLog = () => fixture.proxy.log.filter((l) => /\/blobs\//.test(l.url));

  before(async () => {
    fixture = await startLazyFixture(BIG);
    const zdir = join(fixture.dir.path, 'zstd-chunked');
    await convertToZstdChunked(fixture.layout, 'v1', zdir, 'v1');
    await pushLayout(zdir, 'v1', fixture.reg, 'lazy/zstd-chunked:v1');
    ({ image: zc, client: zclient } = await fixture.viaProxy('lazy/zstd-chunked:v1'));
  });
  after(async () => {
    await fixture?.close();
  });

  it('lists from the TOC and reads files with one range request each', async () => {
    assert.match(
      zc.layers[0]!.descriptor.annotations?.['io.containers.zstd-chunked.manifest-position'] ?? '',
      /^\d+:\d+:\d+:1$/,
    );
    fixture.proxy.resetLog();
    const lazy = (await openLazyImage(zc, { client: zclient }))!;
    assert.equal(lazy.layers[0]!.format, 'zstd:chunked');
    assert.equal(blobLog().length, 2, 'the TOC of each layer, nothing else');
    const full = (await buildFilesystem(fixture.original)).fs;
    assert.deepEqual(shape([...lazy.fs.walk('/')]), shape([...full.walk('/')]));
    fixture.proxy.resetLog();
    assert.equal((await readAll(lazy.openFile('zz/end.txt'))).toString(), 'at the end\n');
    assert.equal(blobLog().length, 1);
    assert.ok(blobLog()[0]!.bytesSent < 1024);
    const got = await readAll(lazy.openFile('data/big.bin'));
    assert.equal(sha(got), sha(fixture.big));
    // Top-down: a top-layer file costs the top layer's TOC and its chunk only.
    fixture.proxy.resetLog();
    const top = await openLazyFile(zc, '/top.txt', { client: zclient });
    assert.equal((await readAll(top!)).toString(), 'top layer\n');
    assert.deepEqual(
      blobLog().map((l) => l.url.split('/').pop()),
      [zc.layers[1]!.descriptor.digest, zc.layers[1]!.descriptor.digest],
    );
    // Whited out above, under a directory only the base defines: read down to decide.
    await assert.rejects(openLazyFile(zc, '/etc/start.conf', { client: zclient }), (e) =>
      isOcipeekError(e, 'ERR_PATH_NOT_FOUND'),
    );
  });

  it('cat of a small top-layer file: at most 4 requests and 64 KiB in all, the top layer only', async (t) => {
    fixture.proxy.resetLog();
    const cat = await runCli([
      'cat',
      `${fixture.proxy.host}/lazy/zstd-chunked:v1`,
      '/top.txt',
      '--stats',
      '--store',
      join(fixture.dir.path, 'no-store'),
    ]);
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.out, 'top layer\n');
    const requests = Number(/requests=(\d+)/.exec(cat.stderr)?.[1]);
    const bytes = Number(/bytesFetched=(\d+)/.exec(cat.stderr)?.[1]);
    t.diagnostic(`cat /top.txt: ${requests} requests, ${bytes} bytes`);
    assert.ok(requests <= 4, `${requests} requests`);
    assert.ok(bytes <= 64 * 1024, `${bytes} bytes`);
    const layers = zc.layers.map((l) => l.descriptor.digest);
    const read = blobLog()
      .map((l) => l.url.split('/').pop()!)
      .filter((d) => layers.includes(d));
    assert.deepEqual(new Set(read), new Set([layers[1]]));
  });

  it('finds the TOC through the footer when the annotations are gone, and checks the checksum', async () => {
    const manifest = structuredClone(zc.manifest);
    for (const l of manifest.layers) l.annotations = {};
    await fixture.client.putManifest(
      `${fixture.reg.host}/lazy/zstd-chunked:plain`,
      Buffer.from(JSON.stringify(manifest)),
      manifest.mediaType!,
    );
    const { image, client: c } = await fixture.viaProxy('lazy/zstd-chunked:plain');
    assert.equal(await openLazyImage(image, { client: c }), undefined, 'not announced: not lazy');
    const { openLazyLayer, registryRangeSource } = await import('../../src/lazy/index.js');
    const layer = await openLazyLayer(
      registryRangeSource(image.name, image.layers[1]!.descriptor, { client: c }),
      image.layers[1]!.descriptor,
    );
    assert.equal(layer?.format, 'zstd:chunked');
    assert.equal(layer?.tocVerified, false);
    assert.equal((await readAll(layer!.open('top.txt'))).toString(), 'top layer\n');
    const wrong = structuredClone(zc.manifest);
    wrong.layers[0]!.annotations!['io.containers.zstd-chunked.manifest-checksum'] =
      `sha256:${'2'.repeat(64)}`;
    await fixture.client.putManifest(
      `${fixture.reg.host}/lazy/zstd-chunked:bad`,
      Buffer.from(JSON.stringify(wrong)),
      wrong.mediaType!,
    );
    const bad = await fixture.viaProxy('lazy/zstd-chunked:bad');
    await assert.rejects(openLazyImage(bad.image, { client: bad.client }), (err: unknown) => {
      return (
        isOcipeekError(err, 'ERR_LAZY_LAYER') &&
        (err as unknown as { problem: string }).problem === 'toc-digest'
      );
    });
  });
});
