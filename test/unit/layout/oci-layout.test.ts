import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import {
  DigestMismatchError,
  InvalidArgumentError,
  InvalidDigestError,
  InvalidManifestError,
  InvalidReferenceError,
  NotFoundError,
  TooLargeError,
} from '../../../src/errors/index.js';
import { type ExampleLayoutResult, writeExampleLayout } from '../../../src/example/index.js';
import { OciLayout, walkManifests } from '../../../src/layout/index.js';
import type { SinkSource } from '../../../src/transport/index.js';

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

describe('OciLayout', () => {
  let tmp: string;
  let dir: string;
  let example: ExampleLayoutResult;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ocipeek-layout-'));
    dir = join(tmp, 'example');
    example = await writeExampleLayout(dir);
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('opens a layout and lists its ref names', async () => {
    const layout = await OciLayout.open(dir);
    assert.equal(layout.dir, dir);
    const refs = await layout.refs();
    assert.deepEqual(refs.map((r) => r.name).sort(), [
      '1.0',
      '1.0-amd64',
      '1.0-arm64',
      'edge',
      'latest',
    ]);
    const index = await layout.index();
    // Two untagged referrer artifacts sit in index.json as well.
    assert.equal(index.manifests.length, 7);
  });

  it('resolves tags to descriptors', async () => {
    const layout = await OciLayout.open(dir);
    assert.equal((await layout.resolve('1.0'))?.digest, example.index.digest);
    assert.equal((await layout.resolve('latest'))?.digest, example.index.digest);
    const amd64 = await layout.resolve('1.0-amd64');
    assert.equal(amd64?.digest, example.images[0]?.manifest.digest);
    assert.equal(amd64?.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(await layout.resolve('2.0'), undefined);
  });

  it('matches a bare tag against full-reference ref names, and refuses ambiguity', async () => {
    const other = join(tmp, 'fullref');
    await writeExampleLayout(other);
    const indexPath = join(other, 'index.json');
    const index = JSON.parse(await readFile(indexPath, 'utf8'));
    index.manifests[0].annotations['org.opencontainers.image.ref.name'] =
      'example.com/team/app:2.0';
    index.manifests[1].annotations['org.opencontainers.image.ref.name'] = 'localhost:5000/app:3.0';
    index.manifests[2].annotations['org.opencontainers.image.ref.name'] = 'registry.test/x:3.0';
    await writeFile(indexPath, JSON.stringify(index));
    const layout = await OciLayout.open(other);
    assert.equal((await layout.resolve('2.0'))?.digest, example.index.digest);
    assert.equal((await layout.resolve('example.com/team/app:2.0'))?.digest, example.index.digest);
    // "localhost:5000/app" has no tag: the colon belongs to the port.
    assert.equal(await layout.resolve('5000/app'), undefined);
    await assert.rejects(layout.resolve('3.0'), InvalidReferenceError);
  });

  it('reports clear errors for things that are not layouts', async () => {
    await assert.rejects(OciLayout.open(join(tmp, 'missing')), NotFoundError);
    const empty = join(tmp, 'empty');
    await mkdir(empty);
    await assert.rejects(OciLayout.open(empty), (err: Error) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.match(err.message, /no oci-layout file/);
      return true;
    });
    await writeFile(join(empty, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await assert.rejects(OciLayout.open(empty), /unsupported imageLayoutVersion "2.0.0"/);
    await writeFile(join(empty, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await assert.rejects(OciLayout.open(empty), /no index.json/);
    await writeFile(join(empty, 'index.json'), '{"schemaVersion":2,"manifests":[{"digest":1}]}');
    await assert.rejects(OciLayout.open(empty), (err: Error) => {
      assert.ok(err instanceof InvalidManifestError);
      assert.match(err.message, /index\.json: manifests\[0\] is not a valid descriptor/);
      return true;
    });
  });

  it('refuses digests that could escape blobs/', async () => {
    const layout = await OciLayout.open(dir);
    const bad = [
      '../../oci-layout',
      'sha256:../../index.json',
      `sha256:${'A'.repeat(64)}`,
      `sha256/../../${'a'.repeat(64)}`,
      `md5:${'a'.repeat(32)}`,
      `sha256:${'a'.repeat(63)}`,
    ];
    for (const digest of bad) {
      assert.throws(() => layout.blobPath(digest), InvalidDigestError, digest);
      await assert.rejects(layout.hasBlob(digest), InvalidDigestError);
      await assert.rejects(layout.readBlob(digest), InvalidDigestError);
      assert.throws(() => layout.openBlob(digest), InvalidDigestError);
    }
    const good = example.index.digest;
    assert.equal(layout.blobPath(good), join(dir, 'blobs', 'sha256', good.slice(7)));
  });

  it('reads whole blobs, verified, with a size cap', async () => {
    const layout = await OciLayout.open(dir);
    const config = example.images[0]?.config;
    assert.ok(config);
    assert.equal(await layout.hasBlob(config.digest), config.size);
    const bytes = await layout.readBlob(config.digest);
    assert.equal(sha256(bytes), config.digest);
    assert.equal(JSON.parse(bytes.toString()).architecture, 'amd64');
    await assert.rejects(layout.readBlob(config.digest, { maxBytes: 10 }), TooLargeError);
    const absent = `sha256:${'0'.repeat(64)}`;
    assert.equal(await layout.hasBlob(absent), undefined);
    await assert.rejects(layout.readBlob(absent), NotFoundError);
    await assert.rejects(collect(layout.openBlob(absent)), NotFoundError);
  });

  it('streams blobs and inclusive byte ranges', async () => {
    const layout = await OciLayout.open(dir);
    const layer = example.images[0]?.layers[0];
    assert.ok(layer);
    const whole = await collect(layout.openBlob(layer.digest));
    assert.equal(whole.length, layer.size);
    assert.equal(sha256(whole), layer.digest);
    assert.deepEqual(
      await collect(layout.openBlob(layer.digest, { start: 10, end: 99 })),
      whole.subarray(10, 100),
    );
    assert.deepEqual(
      await collect(layout.openBlob(layer.digest, { start: 100 })),
      whole.subarray(100),
    );
    assert.deepEqual(
      await collect(layout.openBlob(layer.digest, { end: 0 })),
      whole.subarray(0, 1),
    );
    assert.throws(
      () => layout.openBlob(layer.digest, { start: 5, verify: true }),
      InvalidArgumentError,
    );
    assert.throws(() => layout.openBlob(layer.digest, { start: 9, end: 8 }), InvalidArgumentError);
    assert.throws(() => layout.openBlob(layer.digest, { start: -1 }), InvalidArgumentError);
  });

  it('detects a tampered blob on every read path', async () => {
    const copy = join(tmp, 'tampered');
    const result = await writeExampleLayout(copy);
    const layout = await OciLayout.open(copy);
    const config = result.images[1]?.config;
    assert.ok(config);
    const path = layout.blobPath(config.digest);
    const original = await readFile(path);
    const forged = Buffer.from(original.toString().replace('"arm64"', '"arm65"'));
    assert.equal(forged.length, original.length);
    await writeFile(path, forged);
    await assert.rejects(layout.readBlob(config.digest), DigestMismatchError);
    await assert.rejects(text(layout.openBlob(config.digest)), DigestMismatchError);
    // Unverified reads (ranges) pass the bytes through as they are.
    const raw = await collect(layout.openBlob(config.digest, { verify: false }));
    assert.match(raw.toString(), /arm65/);
    // A longer file fails too, as a digest or size error, never silently.
    await writeFile(path, Buffer.concat([original, Buffer.from(' ')]));
    await assert.rejects(text(layout.openBlob(config.digest)), DigestMismatchError);
  });

  it('hands a blob to a sink through two reused buffers, verified, ranges too', async () => {
    const copy = join(tmp, 'big-blob');
    await writeExampleLayout(copy);
    const layout = await OciLayout.open(copy);
    const data = Buffer.from(Array.from({ length: (7 << 19) + 123 }, (_, i) => (i * 7) % 251));
    const digest = sha256(data);
    await writeFile(layout.blobPath(digest), data);
    const viaSink = async (stream: NodeJS.ReadableStream) => {
      const source = stream as unknown as SinkSource;
      assert.equal(typeof source.pipeTo, 'function');
      const parts: Buffer[] = [];
      const memory = new Set<ArrayBufferLike>();
      await source.pipeTo(async (piece) => {
        memory.add(piece.buffer);
        parts.push(Buffer.from(piece));
        await new Promise((r) => setImmediate(r));
      });
      return { bytes: Buffer.concat(parts), pieces: parts.length, buffers: memory.size };
    };
    const whole = await viaSink(layout.openBlob(digest));
    assert.deepEqual(whole.bytes, data);
    assert.equal(whole.pieces, 4);
    assert.equal(whole.buffers, 2, 'every read lands in one of two buffers');
    const range = await viaSink(layout.openBlob(digest, { start: 1000, end: (3 << 20) + 5 }));
    assert.deepEqual(range.bytes, data.subarray(1000, (3 << 20) + 6));
    // A sink's failure ends the transfer with that failure.
    const boom = new Error('sink failed');
    const failing = layout.openBlob(digest) as unknown as SinkSource;
    await assert.rejects(
      failing.pipeTo(() => Promise.reject(boom)),
      (e) => e === boom,
    );
    // A tampered blob fails after its last piece; a missing one before any.
    const forged = Buffer.from(data);
    forged[5] = (forged[5]! + 1) % 256;
    await writeFile(layout.blobPath(digest), forged);
    await assert.rejects(viaSink(layout.openBlob(digest)), DigestMismatchError);
    await assert.rejects(viaSink(layout.openBlob(`sha256:${'1'.repeat(64)}`)), NotFoundError);
  });

  it('walks every manifest reachable from index.json once', async () => {
    const layout = await OciLayout.open(dir);
    const seen = [];
    for await (const m of walkManifests(layout)) seen.push(m.descriptor.digest);
    const expected = [
      example.index.digest,
      ...example.images.map((i) => i.manifest.digest),
      example.attestation.digest,
      ...example.referrers.map((r) => r.digest),
    ];
    assert.deepEqual([...seen].sort(), [...expected].sort());
    assert.equal(seen[0], example.index.digest);
  });
});
