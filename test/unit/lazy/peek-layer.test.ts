import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { before, describe, it } from 'node:test';
import {
  type PeekEntry,
  type PeekEvent,
  type PeekSummary,
  peekBlob,
} from '../../../src/lazy/peek-layer.js';
import type { PeekRangeSource } from '../../../src/lazy/peek-source.js';
import { readTarEntries } from '../../../src/tar/index.js';
import { type BuiltLayer, type LayerEntry, makeLayer } from '../../harness/layers.js';

/** A blob in memory behind the range-source interface; records what was asked and read. */
function memorySource(blob: Buffer, options: { ignoreRange?: boolean } = {}) {
  const log = { requests: [] as Array<[number, number]>, served: 0, bodies: [] as Readable[] };
  const source: PeekRangeSource = {
    remote: true,
    async open(_digest, start, end) {
      log.requests.push([start, end]);
      const from = options.ignoreRange ? 0 : start;
      const to = options.ignoreRange ? blob.length : Math.min(end + 1, blob.length);
      // 8 KiB pieces, like a network body, so an early stop leaves the rest unread.
      const body = Readable.from(
        (function* () {
          for (let i = from; i < to; i += 8192) {
            const piece = blob.subarray(i, Math.min(i + 8192, to));
            log.served += piece.length;
            yield piece;
          }
        })(),
        { objectMode: false, highWaterMark: 0 },
      );
      log.bodies.push(body);
      return { body, start: from, total: blob.length, rangeIgnored: options.ignoreRange === true };
    },
  };
  return { source, log };
}

async function collect(events: AsyncIterable<PeekEvent>) {
  const entries: PeekEntry[] = [];
  let summary: PeekSummary | undefined;
  for await (const ev of events) {
    if (ev.kind === 'entry') entries.push(ev.entry);
    else summary = ev.summary;
  }
  assert.ok(summary, 'a summary ends every full iteration');
  return { entries, summary };
}

/** 160 random 8 KiB files (~1.3 MiB, incompressible) with marked files at start, middle, end. */
function fixture(): LayerEntry[] {
  const files: LayerEntry[] = [
    { path: 'start/', type: 'dir' },
    { path: 'start/first.txt', content: 'first\n' },
    { path: 'start/link', type: 'symlink', linkname: 'first.txt' },
    { path: 'start/hard', type: 'hardlink', linkname: 'start/first.txt' },
  ];
  for (let i = 0; i < 160; i++) {
    files.push({ path: `data/f${String(i).padStart(3, '0')}.bin`, content: randomBytes(8192) });
    if (i === 80) files.push({ path: 'middle/here.txt', content: 'middle\n', mode: 0o600 });
  }
  files.push({ path: 'end/last.txt', content: 'last\n' });
  return files;
}

const layers: Record<string, BuiltLayer> = {};
const full: Record<string, Array<{ path: string; type: string; size: number }>> = {};

const desc = (l: BuiltLayer) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType });

describe('peekBlob', () => {
  before(async () => {
    const entries = fixture();
    for (const c of ['gzip', 'zstd', 'none'] as const) {
      layers[c] = await makeLayer(entries, { compression: c });
      full[c] = [];
      for await (const e of readTarEntries(Readable.from([layers[c]!.tar]))) {
        full[c]!.push({ path: `/${e.path}`, type: e.type, size: e.size });
      }
    }
  });

  for (const c of ['gzip', 'zstd', 'none'] as const) {
    // zstd decodes whole blocks only (up to 128 KiB): its window must hold at least one.
    const window = c === 'zstd' ? 262144 : 65536;
    it(`${c}: a fixed ${window / 1024} KiB window lists a prefix, ends on a partial entry, is not complete`, async () => {
      const layer = layers[c]!;
      const { source, log } = memorySource(layer.blob);
      const { entries, summary } = await collect(
        peekBlob(source, desc(layer), { initialBytes: window, maxBytes: window, layer: 3 }),
      );
      assert.equal(summary.complete, false);
      assert.equal(summary.compression, c);
      assert.deepEqual(log.requests, [[0, window - 1]]);
      assert.equal(summary.bytesFetched, window);
      const most = window / 8192 + 5;
      assert.ok(entries.length >= 6 && entries.length <= most, `${entries.length} entries`);
      assert.deepEqual(
        entries.map((e) => ({ path: e.path, type: e.type, size: e.size })),
        full[c]!.slice(0, entries.length),
      );
      assert.deepEqual(entries[1], {
        path: '/start/first.txt',
        type: 'file',
        size: 6,
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: Date.UTC(2024, 0, 1) / 1000,
        layer: 3,
      });
      assert.equal(entries[2]!.linkname, 'first.txt');
      assert.equal(entries[3]!.linkname, '/start/first.txt');
      assert.equal(entries.at(-1)!.partial, true, 'the last entry runs past the window');
      assert.equal(entries.filter((e) => e.partial).length, 1);
      assert.equal(summary.entries, entries.length);
    });

    it(`${c}: a growing window reaches the end with the full, complete listing`, async () => {
      const layer = layers[c]!;
      const { source, log } = memorySource(layer.blob);
      const { entries, summary } = await collect(
        peekBlob(source, desc(layer), { initialBytes: 32768 }),
      );
      assert.equal(summary.complete, true);
      assert.deepEqual(
        entries.map((e) => ({ path: e.path, type: e.type, size: e.size })),
        full[c],
      );
      assert.equal(entries.filter((e) => e.partial).length, 0);
      // Each request continues where the last one ended; the window doubles (no refetch).
      for (let i = 1; i < log.requests.length; i++) {
        assert.equal(log.requests[i]![0], log.requests[i - 1]![1] + 1);
      }
      assert.ok(log.requests.length <= 8, `${log.requests.length} requests`);
      assert.ok(summary.bytesRead <= layer.size);
      assert.equal(summary.tarBytes <= layer.tar.length, true);
    });
  }

  it('zstd: a window smaller than one zstd block shows nothing, and says it is incomplete', async () => {
    const layer = layers.zstd!;
    const { source } = memorySource(layer.blob);
    const r = await collect(
      peekBlob(source, desc(layer), { initialBytes: 16384, maxBytes: 16384 }),
    );
    assert.equal(r.summary.complete, false);
    assert.ok(r.entries.length < 4);
  });

  it('a fixed growBy asks for exactly that much each time', async () => {
    const layer = layers.gzip!;
    const { source, log } = memorySource(layer.blob);
    const events = peekBlob(source, desc(layer), {
      initialBytes: 16384,
      growBy: 100000,
      maxBytes: 250000,
    });
    const { summary } = await collect(events);
    assert.deepEqual(log.requests, [
      [0, 16383],
      [16384, 116383],
      [116384, 216383],
      [216384, 249999],
    ]);
    assert.equal(summary.bytesFetched, 250000);
    assert.equal(summary.complete, false);
  });

  it('stops reading the moment the consumer stops', async () => {
    const layer = layers.none!;
    const { source, log } = memorySource(layer.blob);
    const seen: string[] = [];
    for await (const ev of peekBlob(source, desc(layer), { initialBytes: 1024 * 1024 })) {
      if (ev.kind === 'entry') seen.push(ev.entry.path);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, ['/start', '/start/first.txt', '/start/link']);
    assert.equal(log.requests.length, 1);
    assert.ok(log.served <= 4 * 8192, `served ${log.served} of a 1 MiB window`);
    assert.equal(log.bodies[0]!.destroyed, true, 'the body was closed');
  });

  it('a server that ignores Range: only the window is read from the whole-blob answer', async () => {
    const layer = layers.gzip!;
    const { source, log } = memorySource(layer.blob, { ignoreRange: true });
    const { entries, summary } = await collect(
      peekBlob(source, desc(layer), { initialBytes: 65536, maxBytes: 65536 }),
    );
    assert.equal(summary.rangeIgnored, true);
    assert.equal(summary.complete, false);
    assert.equal(summary.bytesFetched, 65536);
    assert.ok(log.served <= 65536 + 8192, `served ${log.served}`);
    assert.equal(log.requests.length, 1);
    assert.ok(entries.length > 5);
    assert.equal(entries.at(-1)!.partial, true);
    // Growing against such a server keeps reading the same answer.
    const again = memorySource(layer.blob, { ignoreRange: true });
    const grown = await collect(peekBlob(again.source, desc(layer), { initialBytes: 65536 }));
    assert.equal(grown.summary.complete, true);
    assert.equal(grown.entries.length, full.gzip!.length);
    assert.equal(again.log.requests.length, 1);
  });

  it('a window ending exactly between entries is still incomplete, with no partial entry', async () => {
    const layer = layers.none!;
    // Cut right after the padded body of data/f000.bin (an uncompressed tar: offsets are bytes).
    let cut = 0;
    for await (const e of readTarEntries(Readable.from([layer.tar]))) {
      if (e.path === 'data/f000.bin') cut = e.dataOffset + 8192;
    }
    const { source } = memorySource(layer.blob);
    const { entries, summary } = await collect(
      peekBlob(source, desc(layer), { initialBytes: cut, maxBytes: cut }),
    );
    assert.equal(entries.at(-1)!.path, '/data/f000.bin');
    assert.equal(entries.filter((e) => e.partial).length, 0);
    assert.equal(summary.complete, false);
  });

  it('a small layer inside the window is complete; a tar without end marker is complete at the blob end', async () => {
    const small = await makeLayer([
      { path: 'a.txt', content: 'a' },
      { path: 'b/', type: 'dir' },
    ]);
    const { source } = memorySource(small.blob);
    const r = await collect(peekBlob(source, desc(small)));
    assert.equal(r.summary.complete, true);
    assert.deepEqual(
      r.entries.map((e) => e.path),
      ['/a.txt', '/b'],
    );
    const noEnd = small.tar.subarray(0, small.tar.length - 1024);
    const plain = memorySource(noEnd);
    const r2 = await collect(peekBlob(plain.source, { digest: small.digest, size: noEnd.length }));
    assert.equal(r2.summary.complete, true);
    assert.equal(r2.entries.length, 2);
  });

  it('corrupt gzip is an error, not a short listing', async () => {
    const layer = layers.gzip!;
    const bad = Buffer.from(layer.blob);
    bad[2000] = bad[2000]! ^ 0xff;
    bad[2001] = bad[2001]! ^ 0xff;
    const { source } = memorySource(bad);
    await assert.rejects(
      collect(peekBlob(source, desc(layer))),
      /decompression failed|invalid tar/,
    );
  });

  it('rejects bad window sizes', async () => {
    const { source } = memorySource(layers.gzip!.blob);
    await assert.rejects(
      collect(peekBlob(source, desc(layers.gzip!), { initialBytes: 0 })),
      /initialBytes/,
    );
  });
});
