import assert from 'node:assert/strict';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyImage } from '../../src/copy/index.js';
import { digestOf } from '../../src/digest/index.js';
import { startRegistryServer } from '../../src/index.js';
import { NO_INDEX_TTL_MS, SEEK_INDEX_ARTIFACT_TYPE } from '../../src/lazy/index.js';
import { openDestination, openPlaceImage, openSource } from '../../src/places/index.js';
import { type FaultProxy, startFaultProxy, tempDir } from '../harness/index.js';
import { type LazyFixture, startLazyFixture } from './lazy-fixture.js';
import { BIG, layerBlobs, referrerRequests, storeCli } from './seek-index-setup.js';

describe('seek index: ocipeek index, then ls/cat through it', () => {
  let fixture: LazyFixture;
  let work: { path: string; remove(): Promise<void> };
  let serve: Awaited<ReturnType<typeof startRegistryServer>>;
  let serveProxy: FaultProxy;

  before(async () => {
    fixture = await startLazyFixture(BIG);
    work = await tempDir('seek-index');
    serve = await startRegistryServer({ storageDir: join(work.path, 'serve') });
    serveProxy = await startFaultProxy(`http://${serve.host}:${serve.port}`);
  });
  after(async () => {
    await serveProxy?.close();
    await serve?.close();
    await fixture?.close();
    await work?.remove();
  });

  const cli = (args: string[], store: string) => storeCli(work.path)(args, store);

  /** Index `repo` at `host`, then compare ls -R and cat through `proxy` with --no-index. */
  async function indexAndRead(host: string, proxy: FaultProxy, name: string, source: string) {
    const repo = 'lazy/src:v1';
    const ref = `${host}/${repo}`;
    const indexed = await cli(['index', ref, '--push', '--json'], `${name}-build`);
    assert.equal(indexed.code, 0, indexed.stderr);
    const report = JSON.parse(indexed.out);
    assert.equal(report.referrers, source);
    assert.equal(report.layers.length, 2);
    const tables = report.layers.reduce((n: number, l: { size: number }) => n + l.size, 0);
    assert.ok(
      tables < report.imageBytes / 50,
      'the tables (what a listing reads) < 2% of the image',
    );
    assert.ok(report.layers.every((l: { records: number }) => l.records > 0));

    const listed = await cli(['referrers', ref, '--json'], `${name}-ls`);
    assert.equal(listed.code, 0, listed.stderr);
    const referrers = JSON.parse(listed.out);
    assert.equal(referrers.source, source);
    assert.deepEqual(
      referrers.manifests.map((d: { artifactType: string; digest: string }) => [
        d.artifactType,
        d.digest,
      ]),
      [[SEEK_INDEX_ARTIFACT_TYPE, report.digest]],
    );

    const via = `${proxy.host}/${repo}`;
    const image = await openPlaceImage(via, { client: fixture.client });
    const layers = image.layers.map((l) => l.descriptor.digest);
    const layerBytes = image.layers.reduce((n, l) => n + l.descriptor.size, 0);
    await image.close();

    const notes: string[] = [];
    const plain = await cli(['ls', '-R', '-l', via, '--no-index'], `${name}-plain`);
    assert.equal(plain.code, 0, plain.stderr);
    proxy.resetLog();
    const lazy = await cli(['ls', '-R', '-l', via, '--verbose'], `${name}-lazy`);
    assert.equal(lazy.code, 0, lazy.stderr);
    assert.equal(lazy.out, plain.out, 'the same listing as reading the layers');
    assert.match(lazy.stderr, new RegExp(`source: seek index ${report.digest}`));
    assert.equal(layerBlobs(proxy, layers).length, 0, 'listing reads no layer byte');
    assert.ok(referrerRequests(proxy).length >= 1);
    const listingBytes = proxy.log.reduce((n, r) => n + r.bytesSent, 0);
    notes.push(
      `ls -R: ${proxy.log.length} requests, ${listingBytes} bytes (index ${report.indexBytes} of ${layerBytes} layer bytes)`,
    );

    // layers: entries and tar sizes from the index's tables, no layer byte read.
    const layersPlain = await cli(['layers', via, '--json', '--no-index'], `${name}-plain`);
    assert.equal(layersPlain.code, 0, layersPlain.stderr);
    proxy.resetLog();
    const layersLazy = await cli(['layers', via, '--json'], `${name}-lazy`);
    assert.equal(layersLazy.code, 0, layersLazy.stderr);
    assert.deepEqual(JSON.parse(layersLazy.out), JSON.parse(layersPlain.out));
    assert.equal(layerBlobs(proxy, layers).length, 0, 'layers reads no layer byte');
    notes.push(
      `layers: ${proxy.log.length} requests, ${proxy.log.reduce((n, r) => n + r.bytesSent, 0)} bytes`,
    );

    // Cached in the store: the second look asks for no referrers.
    proxy.resetLog();
    const again = await cli(['stat', via, '/zz/end.txt', '--json'], `${name}-lazy`);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(referrerRequests(proxy).length, 0, 'the index came from the store');
    assert.equal(layerBlobs(proxy, layers).length, 0);

    for (const path of ['/zz/end.txt', '/top.txt', '/bin/hard', '/etc/middle.conf']) {
      const want = await cli(['cat', via, path, '--no-index'], `${name}-plain`);
      assert.equal(want.code, 0, want.stderr);
      proxy.resetLog();
      const got = await cli(['cat', via, path], `${name}-lazy`);
      assert.equal(got.code, 0, got.stderr);
      assert.ok(got.stdout.equals(want.stdout), `${path}: the same bytes`);
      const reads = layerBlobs(proxy, layers);
      const perLayer = new Map<string, number>();
      for (const r of reads) perLayer.set(r.url, (perLayer.get(r.url) ?? 0) + 1);
      assert.ok(
        [...perLayer.values()].every((n) => n <= 2),
        `${path}: ≤ 2 range requests a layer`,
      );
      assert.ok(
        reads.every((r) => r.range && r.status === 206),
        `${path}: ranges only`,
      );
      const bytes = reads.reduce((n, r) => n + r.bytesSent, 0);
      assert.ok(bytes < layerBytes / 3, `${path}: ${bytes} of ${layerBytes} layer bytes`);
      notes.push(
        `cat ${path}: ${reads.length} range requests, ${bytes} of ${layerBytes} layer bytes`,
      );
    }
    // The big file, read whole through the index, is the file.
    const big = await cli(['cat', via, '/data/big.bin'], `${name}-lazy`);
    assert.equal(big.code, 0, big.stderr);
    assert.ok(big.stdout.equals(fixture.big));
    return notes;
  }

  it('docker-registry (no referrers API): pushed, listed under the referrers tag, used', async (t) => {
    for (const note of await indexAndRead(fixture.reg.host, fixture.proxy, 'distribution', 'tag')) {
      t.diagnostic(note);
    }
  });

  it('ocipeek serve (OCI 1.1 referrers API): the same through the API', async () => {
    const dst = await openDestination(`${serve.host}:${serve.port}/lazy/src:v1`, {
      client: fixture.client,
    });
    await copyImage(
      await openSource(`${fixture.reg.host}/lazy/src:v1`, { client: fixture.client }),
      dst,
      {},
    );
    await indexAndRead(`${serve.host}:${serve.port}`, serveProxy, 'serve', 'api');
  });

  it('no index: the answer is cached in the store, so a second command asks nothing', async () => {
    const src = `${fixture.reg.host}/lazy/src:v1`;
    const dst = await openDestination(`${fixture.reg.host}/lazy/none:v1`, {
      client: fixture.client,
    });
    await copyImage(await openSource(src, { client: fixture.client }), dst, {});
    const via = `${fixture.proxy.host}/lazy/none:v1`;
    const image = await openPlaceImage(via, { client: fixture.client });
    const pointer = join(
      work.path,
      'none',
      '.ocipeek',
      'seek-index',
      `${image.manifestDigest.replace(':', '-')}.seek-index`,
    );
    await image.close();
    const lookups = async (args: string[]) => {
      fixture.proxy.resetLog();
      const r = await cli(args, 'none');
      assert.equal(r.code, 0, r.stderr);
      return { out: r.out, err: r.stderr, asked: referrerRequests(fixture.proxy).length };
    };
    // What an older ocipeek left: a pointer to a version 1 index, asked again, not used.
    const v1 = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.ocipeek.seek-index.v1',
        subject: { digest: image.manifestDigest },
        layers: [],
      }),
    );
    await mkdir(dirname(pointer), { recursive: true });
    await writeFile(join(dirname(pointer), digestOf(v1).replace(':', '-')), v1);
    await writeFile(pointer, digestOf(v1));
    const first = await lookups(['ls', via, '/etc']);
    assert.ok(first.asked >= 1, 'the first command looks for an index');
    assert.doesNotMatch(first.err, /warning/);
    assert.equal(await readFile(pointer, 'utf8'), 'none');
    const second = await lookups(['ls', via, '/etc']);
    assert.equal(second.asked, 0, 'the second asks nothing');
    assert.equal(second.out, first.out);
    assert.equal((await lookups(['cat', via, '/top.txt'])).asked, 0, 'nor does cat');
    // Once the answer is older than its time to live, it is asked again.
    const old = new Date(Date.now() - NO_INDEX_TTL_MS - 60_000);
    await utimes(pointer, old, old);
    assert.ok((await lookups(['ls', via, '/etc'])).asked >= 1, 'asked again when stale');
  });
});
