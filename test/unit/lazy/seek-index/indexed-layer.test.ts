import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { deflateRawSync, gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import { LazyLayerError } from '../../../../src/errors/index.js';
import { bufferRangeSource } from '../../../../src/lazy/range-source.js';
import { buildLayerSeekIndex } from '../../../../src/lazy/seek-index/build-layer-index.js';
import { IndexedLayer } from '../../../../src/lazy/seek-index/indexed-layer.js';
import {
  decodeLayerSeekIndex,
  decodeSpanRecord,
  encodeLayerSeekIndex,
  type LayerSeekIndex,
  packSpanRecords,
  type SpanRecord,
} from '../../../../src/lazy/seek-index/seek-index-format.js';
import { SpanRecords } from '../../../../src/lazy/seek-index/span-records.js';
import { readTarEntries, type TarEntry } from '../../../../src/tar/index.js';
import { type LayerEntry, makeTar } from '../../../harness/layers.js';

const SPAN = 128 * 1024;
const PIECE = 8 * 1024;

/** Files of varied sizes (some over a span), links, dirs: ~2.5 MiB of tar. */
function entries(): LayerEntry[] {
  const list: LayerEntry[] = [{ path: 'etc/', type: 'dir' }];
  let seed = 11;
  for (let i = 0; i < 120; i++) {
    seed = (seed * 48271) % 2147483647;
    const size = i % 17 === 0 ? 150_000 + (seed % 50_000) : seed % 30_000;
    // About 2:1 under gzip, so deflate blocks are a few dozen KiB (as in real layers).
    const text = Array.from({ length: Math.ceil(size / 16) }, (_, k) => {
      seed = (seed * 48271) % 2147483647;
      return `f${i}-${k % 97}-${seed % 100_000}\n`;
    })
      .join('')
      .slice(0, size);
    list.push({ path: `etc/f${i}.txt`, content: text, mode: 0o640, uid: i, gid: 7 });
  }
  list.push({ path: 'etc/empty', content: '' });
  // Over 100 bytes: a PAX header before it, so its content is not 512 bytes after.
  list.push({ path: `etc/${'long-name-'.repeat(12)}.txt`, content: 'long\n' });
  list.push({ path: 'etc/link', type: 'symlink', linkname: 'f1.txt' });
  list.push({ path: 'etc/hard', type: 'hardlink', linkname: 'etc/f2.txt' });
  return list;
}

async function* pieces(buf: Buffer, size: number) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function fixture() {
  const tar = await makeTar(entries());
  const gz = gzipSync(tar, { level: 6 });
  const layer = {
    digest: `sha256:${createHash('sha256').update(gz).digest('hex')}`,
    size: gz.length,
  };
  const { index, records } = await buildLayerSeekIndex(pieces(gz, 100_000), layer, {
    span: SPAN,
    compressedSpan: SPAN,
    piece: PIECE,
  });
  const listed: TarEntry[] = [];
  for await (const e of readTarEntries(pieces(tar, 1 << 20))) listed.push(e);
  return { tar, gz, layer, index, records, listed };
}

/** Every record of `index`, decoded. */
function recordsOf(index: LayerSeekIndex, records: Buffer): SpanRecord[] {
  const cps = index.checkpoints;
  return cps.map((cp, i) =>
    decodeSpanRecord(
      records.subarray(cp.record.offset, cp.record.offset + cp.record.size),
      'layer 0',
      i,
      cp,
      cps[i + 1] ?? { bit: index.deflateEnd * 8, out: index.size },
    ),
  );
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function open(gz: Buffer, index: LayerSeekIndex, records: Buffer) {
  const source = bufferRangeSource(gz, 'layer 0');
  const spans = new SpanRecords(index, bufferRangeSource(records, 'records'));
  return { source, spans, layer: new IndexedLayer(source, index, 'sha256:index', spans) };
}

describe('seek index of a gzip layer', () => {
  it('records every entry, checkpoints every span, windows and piece digests of the tar', async () => {
    const { tar, index, records, listed, layer } = await fixture();
    assert.deepEqual(index.layer, layer);
    assert.equal(index.size, tar.length);
    assert.deepEqual(
      index.entries.map((e) => [e.path, e.type, e.size, e.mode, e.uid, e.linkname, e.dataOffset]),
      listed.map((e) => [e.path, e.type, e.size, e.mode, e.uid, e.linkname, e.dataOffset]),
    );
    assert.equal(index.records.size, records.length);
    // Spans end at deflate block boundaries, so they are SPAN or somewhat more.
    assert.ok(index.checkpoints.length > 3, `${index.checkpoints.length} checkpoints`);
    const decoded = recordsOf(index, records);
    for (const [i, cp] of index.checkpoints.entries()) {
      const end = index.checkpoints[i + 1]?.out ?? tar.length;
      if (i + 1 < index.checkpoints.length) assert.ok(end - cp.out >= SPAN, `span ${i} ≥ SPAN`);
      const { window, pieces: cut } = decoded[i]!;
      const w = window.length ? inflateRawSync(window) : Buffer.alloc(0);
      assert.ok(w.equals(tar.subarray(Math.max(0, cp.out - 32768), cp.out)), `window ${i}`);
      if (i + 1 < index.checkpoints.length) assert.ok(cut.length > 1, `span ${i} is in pieces`);
      let from = cp.out;
      for (const p of cut) {
        if (p.out < end) assert.ok(p.out - from >= PIECE, `a piece of span ${i} ≥ PIECE`);
        const digest = `sha256:${createHash('sha256').update(tar.subarray(from, p.out)).digest('hex')}`;
        assert.equal(p.digest, digest, `piece of span ${i} at ${from}`);
        from = p.out;
      }
      assert.equal(from, end, `span ${i}'s pieces end where it does`);
    }
  });

  it('is the same bytes built with the system zlib or with pako', async () => {
    const { gz, layer } = await fixture();
    const built = await Promise.all(
      (['libz', 'pako'] as const).map((engine) =>
        buildLayerSeekIndex(pieces(gz, 70_000), layer, {
          span: SPAN,
          compressedSpan: SPAN,
          piece: PIECE,
          engine,
        }),
      ),
    );
    const [a, b] = built.map((x) => ({ table: encodeLayerSeekIndex(x.index), records: x.records }));
    assert.ok(a!.table.equals(b!.table), 'the tables are equal');
    assert.ok(a!.records.equals(b!.records), 'the records are equal');
    assert.ok(built[0]!.index.checkpoints.length > 5);
  });

  it('is the same bytes with the pieces hashed on a thread or inline', async () => {
    // More than the hashing thread's ring (8 MiB): it wraps.
    const tar = await makeTar([
      ...entries(),
      { path: 'etc/random.bin', content: randomBytes(20_000_000) },
    ]);
    const gz = gzipSync(tar, { level: 1 });
    const layer = {
      digest: `sha256:${createHash('sha256').update(gz).digest('hex')}`,
      size: gz.length,
    };
    const built = [];
    for (const hashOnThread of [true, false]) {
      built.push(
        await buildLayerSeekIndex(pieces(gz, 1 << 20), layer, {
          span: SPAN,
          compressedSpan: SPAN,
          piece: PIECE,
          hashOnThread,
        }),
      );
    }
    const [a, b] = built.map((x) => ({ table: encodeLayerSeekIndex(x.index), records: x.records }));
    assert.ok(a!.table.equals(b!.table), 'the tables are equal');
    assert.ok(a!.records.equals(b!.records), 'the records are equal');
    // And the digests are the tar's.
    const decoded = recordsOf(built[0]!.index, built[0]!.records);
    let from = 0;
    let n = 0;
    for (const p of decoded.flatMap((r) => r.pieces)) {
      const digest = `sha256:${createHash('sha256').update(tar.subarray(from, p.out)).digest('hex')}`;
      assert.equal(p.digest, digest, `piece at ${from}`);
      from = p.out;
      n++;
    }
    assert.equal(from, tar.length);
    assert.ok(n > 1000, `${n} pieces`);
  });

  it('round-trips through its blob encoding', async () => {
    const { index } = await fixture();
    const decoded = decodeLayerSeekIndex(encodeLayerSeekIndex(index), 'layer 0');
    assert.deepEqual(decoded, index);
    assert.ok(
      index.entries.some((e) => e.dataOffset - e.headerOffset > 512),
      'a PAX header',
    );
  });

  it('reads every file as the tar holds it, a small file in one range request', async () => {
    const { tar, gz, index, records, listed } = await fixture();
    let smallBytes = 0;
    let small = 0;
    for (const e of listed.filter((x) => x.type === 'file')) {
      const { source, spans, layer } = open(gz, index, records);
      const got = await readAll(layer.open(e.path));
      assert.ok(got.equals(tar.subarray(e.dataOffset, e.dataOffset + e.size)), e.path);
      assert.equal(source.requests, 1, `${e.path}: one request`);
      assert.ok(source.bytesRead < gz.length, `${e.path}: part of the layer`);
      assert.equal(spans.source.requests, 1, `${e.path}: one request for its records`);
      if (e.size < PIECE) {
        small++;
        smallBytes += source.bytesRead;
      }
    }
    // A small file is read up to the piece holding its end, not to its span's end: on
    // average about half a span.
    const spanBytes = index.deflateEnd / index.checkpoints.length;
    assert.ok(
      smallBytes / small < 0.75 * spanBytes,
      `${Math.round(smallBytes / small)} bytes a small file, spans of ${Math.round(spanBytes)}`,
    );
    const { layer } = open(gz, index, records);
    assert.equal(
      (await readAll(layer.open('etc/hard'))).toString(),
      (await readAll(layer.open('etc/f2.txt'))).toString(),
    );
  });

  it('stores the windows of spans that do not compress, deflates the others; both read back', async () => {
    // Random bytes (gzip stores them) between text files: checkpoints in both kinds.
    const text = entries().filter((e) => e.type !== 'hardlink' && e.type !== 'symlink');
    const list: LayerEntry[] = [
      ...text.slice(0, 40),
      { path: 'etc/random.bin', content: randomBytes(1_500_000) },
      ...text.slice(40),
    ];
    const tar = await makeTar(list);
    const gz = gzipSync(tar, { level: 1 });
    const layer = {
      digest: `sha256:${createHash('sha256').update(gz).digest('hex')}`,
      size: gz.length,
    };
    const { index, records } = await buildLayerSeekIndex(pieces(gz, 64_000), layer, {
      span: SPAN,
      compressedSpan: SPAN,
      piece: PIECE,
    });
    const windows = recordsOf(index, records).map((r) => r.window);
    const stored = windows.filter((w) => w.length === 32768 + 5 && w[0] === 1);
    const deflated = windows.filter((w) => w.length > 0 && w.length < 32768);
    assert.ok(stored.length >= 5, `${stored.length} stored windows`);
    assert.ok(deflated.length >= 3, `${deflated.length} deflated windows`);
    for (const [i, cp] of index.checkpoints.entries()) {
      const w = windows[i]!.length ? inflateRawSync(windows[i]!) : Buffer.alloc(0);
      assert.ok(w.equals(tar.subarray(Math.max(0, cp.out - 32768), cp.out)), `window ${i}`);
    }
    const listed: TarEntry[] = [];
    for await (const e of readTarEntries(pieces(tar, 1 << 20))) listed.push(e);
    for (const e of listed.filter((x) => x.type === 'file')) {
      const { layer: indexed } = open(gz, index, records);
      const got = await readAll(indexed.open(e.path));
      assert.ok(got.equals(tar.subarray(e.dataOffset, e.dataOffset + e.size)), e.path);
    }
  });

  it('indexes a layer of several gzip members: a checkpoint at each, every file read back', async () => {
    const tar = await makeTar(entries());
    const listed: TarEntry[] = [];
    for await (const e of readTarEntries(pieces(tar, 1 << 20))) listed.push(e);
    // Cut where members usually are not: inside a header, inside a file, near the end;
    // an empty member between, and zero padding after the last (as gzip(1) accepts).
    const big = listed.find((e) => e.size > 100_000)!;
    const cuts = [700, big.dataOffset + 5_000, 1_300_001, tar.length - 3_000];
    const parts: Buffer[] = [];
    let from = 0;
    for (const [i, cut] of cuts.entries()) {
      parts.push(gzipSync(tar.subarray(from, cut), { level: 6 }));
      if (i === 1) parts.push(gzipSync(Buffer.alloc(0)));
      from = cut;
    }
    parts.push(gzipSync(tar.subarray(from)), Buffer.alloc(100));
    const gz = Buffer.concat(parts);
    assert.ok(gunzipSync(gz).equals(tar), 'zlib reads the members as one stream');
    const layer = {
      digest: `sha256:${createHash('sha256').update(gz).digest('hex')}`,
      size: gz.length,
    };
    const { index, records } = await buildLayerSeekIndex(pieces(gz, 50_000), layer, {
      span: SPAN,
      compressedSpan: SPAN,
      piece: PIECE,
    });
    assert.equal(index.size, tar.length);
    assert.deepEqual(
      index.checkpoints.filter((c) => c.member).map((c) => c.out),
      cuts,
      'a member checkpoint at every member with output',
    );
    const decoded = decodeLayerSeekIndex(encodeLayerSeekIndex(index), 'layer 0');
    assert.deepEqual(decoded, index, 'the member marks round-trip');
    recordsOf(index, records);
    for (const e of listed.filter((x) => x.type === 'file')) {
      const { layer: indexed } = open(gz, decoded, records);
      const got = await readAll(indexed.open(e.path));
      assert.ok(got.equals(tar.subarray(e.dataOffset, e.dataOffset + e.size)), e.path);
    }
    assert.ok(
      listed.some((e) => e.headerOffset < 700 && e.dataOffset > 700),
      'one file header is cut by a member boundary (and was read above)',
    );
  });

  it('refuses data after the zero padding that follows the last member', async () => {
    const gz = Buffer.concat([gzipSync(Buffer.alloc(1024)), Buffer.alloc(10), Buffer.from([1])]);
    await assert.rejects(
      buildLayerSeekIndex(pieces(gz, 4096), { digest: 'sha256:x', size: gz.length }),
      (err: Error & { code?: string }) =>
        err.code === 'ERR_DECOMPRESSION' && /after the zero padding/.test(err.message),
    );
  });

  it("refuses a member whose trailer's CRC-32 or length is wrong, hashed on a thread or inline", async () => {
    // Three members, the middle one's trailer changed: the thread's CRC-32s are compared
    // with the trailers after the pass (zlib leaves them out there), inline zlib checks.
    const tar = await makeTar(entries());
    const third = Math.floor(tar.length / 3 / 512) * 512;
    const members = [
      tar.subarray(0, third),
      tar.subarray(third, 2 * third),
      tar.subarray(2 * third),
    ];
    for (const [field, problem] of [
      [8, /incorrect data check/],
      [4, /incorrect length check/],
    ] as const) {
      const gzs = members.map((m) => gzipSync(m));
      const bad = gzs[1]!;
      bad[bad.length - field] = bad[bad.length - field]! ^ 0x10;
      const gz = Buffer.concat(gzs);
      const layer = { digest: 'sha256:x', size: gz.length };
      for (const hashOnThread of [true, false]) {
        await assert.rejects(
          buildLayerSeekIndex(pieces(gz, 3000), layer, { span: SPAN, hashOnThread }),
          (err: Error & { code?: string }) =>
            err.code === 'ERR_DECOMPRESSION' && problem.test(err.message),
          `${problem} with hashOnThread ${hashOnThread}`,
        );
      }
      // The same members unchanged build the same index either way.
      const good = Buffer.concat(members.map((m) => gzipSync(m)));
      const ok = { digest: 'sha256:y', size: good.length };
      const [a, b] = await Promise.all(
        [true, false].map((hashOnThread) =>
          buildLayerSeekIndex(pieces(good, 3000), ok, { span: SPAN, hashOnThread }),
        ),
      );
      assert.ok(a!.records.equals(b!.records));
      assert.equal(a!.index.checkpoints.filter((c) => c.member).length, 2);
    }
  });

  it('fails a corrupt, cut short or unreadable layer the same with the inflate on a thread or inline', async () => {
    const { gz, layer } = await fixture();
    const corrupt = Buffer.from(gz);
    // The first block's code lengths: zlib refuses them before any output.
    for (let i = 11; i < 40; i++) corrupt[i] = 0xff;
    const failures: Array<[string, () => AsyncIterable<Uint8Array>]> = [
      ['corrupt', () => pieces(corrupt, 5000)],
      ['cut short', () => pieces(gz.subarray(0, gz.length - 100), 5000)],
      [
        'unreadable',
        async function* () {
          yield* pieces(gz.subarray(0, 50_000), 5000);
          throw new Error('the body failed: digest mismatch');
        },
      ],
    ];
    for (const [what, input] of failures) {
      const messages: string[] = [];
      for (const hashOnThread of [true, false]) {
        const err = await buildLayerSeekIndex(input(), layer, { span: SPAN, hashOnThread }).then(
          () => assert.fail(`${what} built with hashOnThread ${hashOnThread}`),
          (e: Error) => e,
        );
        messages.push(err.message);
      }
      assert.equal(messages[0], messages[1], what);
      assert.match(
        messages[0]!,
        {
          corrupt:
            /^gzip decompression failed: layer sha256:[0-9a-f]+: too many length or distance symbols$/,
          'cut short': /^gzip decompression failed: layer sha256:[0-9a-f]+: the stream ends early$/,
          unreadable: /^the body failed: digest mismatch$/,
        }[what]!,
      );
    }
  });

  describe('a lying index gives an error, never wrong bytes', () => {
    const target = 'etc/f50.txt';
    type Lie = (index: LayerSeekIndex, records: SpanRecord[], at: number) => void;
    /** Change the index and its records, re-pack the records (digests fit the change). */
    async function lie(change: Lie, problem: string, repack = true) {
      const built = await fixture();
      const copy = structuredClone(built.index) as LayerSeekIndex;
      const records = recordsOf(copy, built.records);
      const entry = copy.entries.find((e) => e.path === target)!;
      const span = copy.checkpoints.findLastIndex((c) => c.out <= entry.headerOffset);
      change(copy, records, span);
      let blob = built.records;
      if (repack) {
        const packed = packSpanRecords(
          copy.checkpoints.map((cp, i) => ({ bit: cp.bit, out: cp.out, record: records[i]! })),
        );
        copy.checkpoints = packed.checkpoints;
        blob = packed.records;
      }
      const { layer } = open(built.gz, copy, blob);
      await assert.rejects(readAll(layer.open(target)), (err: unknown) => {
        assert.ok(err instanceof LazyLayerError, String(err));
        assert.equal(err.problem, problem);
        return true;
      });
    }

    it('a wrong window', () =>
      lie((_, records, at) => {
        // Every byte changed: a read uses the window only where the span refers back.
        const w = inflateRawSync(records[at]!.window).map((b) => b ^ 0x55);
        records[at]!.window = deflateRawSync(w);
      }, 'span-digest'));

    it('a wrong bit offset', () =>
      lie((index, _, at) => {
        index.checkpoints[at]!.bit += 3;
      }, 'span-digest'));

    it('a wrong piece digest', () =>
      lie((_, records, at) => {
        for (const p of records[at]!.pieces) p.digest = `sha256:${'0'.repeat(64)}`;
      }, 'span-digest'));

    it('a record that is not the one the table names', () =>
      lie(
        (index, _, at) => {
          index.checkpoints[at]!.record.digest = `sha256:${'1'.repeat(64)}`;
        },
        'seek-index',
        false,
      ));

    it('a wrong content offset', () =>
      lie((index) => {
        const e = index.entries.find((x) => x.path === target)!;
        e.dataOffset += 512;
        e.headerOffset += 512;
      }, 'seek-index'));

    it('a wrong size', () =>
      lie((index) => {
        index.entries.find((x) => x.path === target)!.size += 1;
      }, 'seek-index'));
  });

  it('checks a tampered layer byte against the piece digests', async () => {
    const { gz, index, records, tar } = await fixture();
    assert.ok(gunzipSync(gz).equals(tar));
    const bad = Buffer.from(gz);
    const entry = index.entries.find((e) => e.path === 'etc/f60.txt')!;
    const span = index.checkpoints.findLastIndex((c) => c.out <= entry.headerOffset);
    const at = Math.floor(index.checkpoints[span]!.bit / 8) + 200;
    bad[at] = bad[at]! ^ 0x01;
    const { layer } = open(bad, index, records);
    await assert.rejects(readAll(layer.open('etc/f60.txt')), LazyLayerError);
  });
});
