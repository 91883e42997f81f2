import assert from 'node:assert/strict';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { publishReferrer } from '../../src/artifact/index.js';
import { copyImage } from '../../src/copy/index.js';
import { digestOf } from '../../src/digest/index.js';
import { startRegistryServer } from '../../src/index.js';
import {
  buildSeekIndex,
  encodeLayerSeekIndex,
  NO_INDEX_TTL_MS,
  SEEK_INDEX_ARTIFACT_TYPE,
  writeSeekIndex,
} from '../../src/lazy/index.js';
import { openDestination, openPlaceImage, openSource } from '../../src/places/index.js';
import { parseReference } from '../../src/ref/index.js';
import { type FaultProxy, startFaultProxy, tempDir } from '../harness/index.js';
import { runCli } from '../harness/run-cli.js';
import { type LazyFixture, startLazyFixture } from './lazy-fixture.js';

/** Big enough for several 4 MiB spans: the last file lies after all of them. */
const BIG = 20 * 1024 * 1024;

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

  const cli = (args: string[], store: string) =>
    runCli([...args, '--store', join(work.path, store)], { timeoutMs: 300_000 });
  const layerBlobs = (proxy: FaultProxy, layers: string[]) =>
    proxy.log.filter((l) => layers.some((d) => l.url.endsWith(`/blobs/${d}`)));
  const referrerRequests = (proxy: FaultProxy) =>
    proxy.log.filter((l) => /\/referrers\/|\/manifests\/sha256-/.test(l.url));

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

  it('diff through the index: the same output as reading the layers, only undecided files read', async () => {
    const reg = fixture.reg.host;
    const dst = await openDestination(`${reg}/lazy/d:v1`, { client: fixture.client });
    await copyImage(await openSource(`${reg}/lazy/src:v1`, { client: fixture.client }), dst, {});
    // The new layer: /top.txt rewritten at the same size (only its content tells), a
    // config grown, a new file; the base layer (with the 20 MiB file) is shared.
    const folder = join(work.path, 'diff-layer');
    await mkdir(join(folder, 'etc'), { recursive: true });
    await writeFile(join(folder, 'top.txt'), 'TOP LAYER\n');
    await writeFile(join(folder, 'etc', 'middle.conf'), 'in the middle, and longer\n');
    await writeFile(join(folder, 'new.txt'), 'new\n');
    const appended = await cli(
      ['append', `${reg}/lazy/d:v1`, '-f', folder, '-t', `${reg}/lazy/d:v2`],
      'diff-build',
    );
    assert.equal(appended.code, 0, appended.stderr);
    for (const tag of ['v1', 'v2']) {
      const r = await cli(['index', `${reg}/lazy/d:${tag}`, '--push'], 'diff-build');
      assert.equal(r.code, 0, r.stderr);
    }
    const [v1, v2] = ['v1', 'v2'].map((t) => `${fixture.proxy.host}/lazy/d:${t}`);
    const plain = await cli(['diff', v1!, v2!, '--no-index'], 'diff-plain');
    assert.equal(plain.code, 1, plain.stderr);
    const lines = plain.out.trim().split('\n');
    assert.ok(lines.includes('+ /new.txt'), plain.out);
    assert.ok(
      lines.some((l) => /^~ \/top\.txt \(.*content.*\)$/.test(l)),
      plain.out,
    );
    assert.ok(
      lines.some((l) => /^~ \/etc\/middle\.conf \(.*size.*\)$/.test(l)),
      plain.out,
    );
    const image = await openPlaceImage(v2!, { client: fixture.client });
    const layers = image.layers.map((l) => l.descriptor.digest);
    const layerBytes = image.layers.reduce((n, l) => n + l.descriptor.size, 0);
    await image.close();
    fixture.proxy.resetLog();
    const lazy = await cli(['diff', v1!, v2!, '--verbose'], 'diff-lazy');
    assert.equal(lazy.code, 1, lazy.stderr);
    assert.equal(lazy.out, plain.out, 'the same diff as reading the layers');
    assert.match(lazy.stderr, /source: seek index/);
    const reads = layerBlobs(fixture.proxy, layers);
    assert.ok(reads.length > 0, 'the same-size /top.txt was read on both sides');
    assert.ok(
      reads.every((r) => r.range && r.status === 206),
      'ranges only',
    );
    const bytes = reads.reduce((n, r) => n + r.bytesSent, 0);
    assert.ok(bytes < layerBytes / 20, `${bytes} of ${layerBytes} layer bytes`);
    // JSON too, and the same images compared with themselves differ in nothing.
    const plainJson = await cli(['diff', v1!, v2!, '--json', '--no-index'], 'diff-plain');
    const lazyJson = await cli(['diff', v1!, v2!, '--json'], 'diff-lazy');
    assert.deepEqual(JSON.parse(lazyJson.out), JSON.parse(plainJson.out));
    const same = await cli(['diff', v2!, v2!], 'diff-lazy');
    assert.equal(same.code, 0, same.stderr);
    assert.equal(same.out.trim(), '');
  });

  it('-o oci:DIR writes the artifact with the image manifest as subject', async () => {
    const out = join(work.path, 'index-layout');
    const r = await cli(['index', `${fixture.reg.host}/lazy/src:v1`, '-o', `oci:${out}`], 'o');
    assert.equal(r.code, 0, r.stderr);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    const [hex] = [index.manifests[0].digest.slice(7)];
    const manifest = JSON.parse(await readFile(join(out, 'blobs', 'sha256', hex), 'utf8'));
    assert.equal(manifest.artifactType, SEEK_INDEX_ARTIFACT_TYPE);
    const image = await openPlaceImage(`${fixture.reg.host}/lazy/src:v1`, {
      client: fixture.client,
    });
    assert.equal(manifest.subject.digest, image.manifestDigest);
    assert.equal(manifest.layers.length, 2 * image.layers.length, 'a table and records a layer');
    await image.close();
  });

  it('a lying index (wrong checkpoint offsets) fails cat with one clear line and no bytes', async () => {
    const src = `${fixture.reg.host}/lazy/src:v1`;
    const dst = await openDestination(`${fixture.reg.host}/lazy/lie:v1`, {
      client: fixture.client,
    });
    await copyImage(await openSource(src, { client: fixture.client }), dst, {});
    const image = await openPlaceImage(`${fixture.reg.host}/lazy/lie:v1`, {
      client: fixture.client,
    });
    const built = await buildSeekIndex(image, { span: 1024 * 1024 });
    // Every checkpoint of the layer with the big file is placed one byte late (the big
    // file is random, so its blocks are stored and a wrong window would change nothing).
    const target = built.blobs.find((b) => b.index.entries.some((e) => e.path === 'zz/end.txt'))!;
    for (const cp of target.index.checkpoints.slice(1)) cp.bit += 8;
    await publishEdited(
      built,
      target,
      image.manifestDigest,
      `${fixture.reg.host}/lazy/lie`,
      fixture.client,
    );
    await image.close();
    const r = await cli(['cat', `${fixture.reg.host}/lazy/lie:v1`, '/zz/end.txt'], 'lie');
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout.length, 0, 'no byte was written');
    // zlib refuses the stream entered a byte late, or inflates it to other bytes than the
    // piece digests say (which depends on the bytes): a clear line either way.
    assert.match(r.stderr, /seek index does not match the layer|the seek index says sha256:/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    const plain = await cli(
      ['cat', `${fixture.reg.host}/lazy/lie:v1`, '/zz/end.txt', '--no-index'],
      'lie',
    );
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.out, 'at the end\n');
  });

  it('the limit: a table forged consistently is believed; rebuilding the index tells', async () => {
    const repo = `${fixture.reg.host}/lazy/forged`;
    const dst = await openDestination(`${repo}:v1`, { client: fixture.client });
    await copyImage(
      await openSource(`${fixture.reg.host}/lazy/src:v1`, { client: fixture.client }),
      dst,
      {},
    );
    const image = await openPlaceImage(`${repo}:v1`, { client: fixture.client });
    const built = await buildSeekIndex(image);
    const honest = built.blobs.map((b) => b.descriptor.digest);
    // Someone who may push to the repository renames a file in a table and publishes
    // the index again: table, records and manifest agree with each other.
    const target = built.blobs.find((b) => b.index.entries.some((e) => e.path === 'top.txt'))!;
    target.index.entries.find((e) => e.path === 'top.txt')!.path = 'forged.txt';
    const forged = await publishEdited(built, target, image.manifestDigest, repo, fixture.client);
    await image.close();
    // Believed: the listing comes from the table alone (README, "Seek indexes").
    const lazy = await cli(['ls', `${repo}:v1`, '/'], 'forged');
    assert.equal(lazy.code, 0, lazy.stderr);
    assert.match(lazy.out, /forged\.txt/);
    const plain = await cli(['ls', `${repo}:v1`, '/', '--no-index'], 'forged');
    assert.doesNotMatch(plain.out, /forged\.txt/);
    assert.match(plain.out, /top\.txt/);
    // Told: the build is deterministic, so the same index built again from the layers has
    // other table digests than the published one.
    const out = join(work.path, 'forged-check');
    const again = await cli(['index', `${repo}:v1`, '-o', `oci:${out}`, '--json'], 'forged');
    assert.equal(again.code, 0, again.stderr);
    const rebuilt = (JSON.parse(again.out) as { layers: Array<{ digest: string }> }).layers;
    const published = forged.blobs.map((b) => b.descriptor.digest);
    assert.deepEqual(
      rebuilt.map((l) => l.digest),
      honest,
      'the same tables as the first honest build',
    );
    assert.deepEqual(
      rebuilt.map((l) => l.digest).filter((d) => !published.includes(d)),
      [honest[built.blobs.indexOf(target)]],
      'exactly the forged table differs',
    );
  });
});

type BuiltIndex = Awaited<ReturnType<typeof buildSeekIndex>>;

/**
 * Publish `built` as the index of `subject` in `repo` after the table of `target` (one of
 * its blobs) was edited: the table encoded again and the artifact manifest over it.
 */
async function publishEdited(
  built: BuiltIndex,
  target: BuiltIndex['blobs'][number],
  subject: string,
  repo: string,
  client: Parameters<typeof publishReferrer>[0],
): Promise<BuiltIndex> {
  target.bytes = encodeLayerSeekIndex(target.index);
  target.descriptor = {
    ...target.descriptor,
    digest: digestOf(target.bytes),
    size: target.bytes.length,
  };
  const edited = await buildLyingManifest(built, subject);
  const ref = parseReference(`${repo}@${edited.digest}`);
  await writeSeekIndex(await openDestination(ref.toString(), { client }), edited);
  await publishReferrer(client, parseReference(repo), subject, edited.descriptor);
  return edited;
}

/** The artifact manifest again, over blobs that were changed after building. */
async function buildLyingManifest(
  built: Awaited<ReturnType<typeof buildSeekIndex>>,
  subject: string,
): Promise<Awaited<ReturnType<typeof buildSeekIndex>>> {
  const { buildArtifactManifest } = await import('../../src/artifact/artifact-manifest.js');
  const manifest = JSON.parse(built.manifest.toString());
  const rebuilt = buildArtifactManifest({
    artifactType: SEEK_INDEX_ARTIFACT_TYPE,
    layers: built.blobs.flatMap((b) => [b.descriptor, b.records.descriptor]),
    subject: { ...manifest.subject, digest: subject },
  });
  return {
    ...built,
    manifest: rebuilt.bytes,
    digest: rebuilt.digest,
    descriptor: { ...built.descriptor, digest: rebuilt.digest, size: rebuilt.bytes.length },
  };
}
