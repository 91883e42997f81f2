import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { createGunzip, gzipSync } from 'node:zlib';
import { decompressIntoRooms, GzipRooms } from '../../../src/compression/index.js';

const ROOM = 64 * 1024;

/** Compressible bytes that differ everywhere (a reused room holding stale bytes shows). */
function data(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let seed = 1;
  for (let i = 0; i < bytes; i += 4) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    out.writeUInt32LE(i % 7 === 0 ? seed : i, i);
  }
  return out;
}

/** Read `stream` as unpack does: tell the rooms each new piece, then take its bytes. */
async function readThrough(stream: Readable, rooms: GzipRooms, slow: boolean) {
  const hash = createHash('sha256');
  const memories = new Set<ArrayBufferLike>();
  let pieces = 0;
  for await (const piece of stream) {
    rooms.passed(piece as Buffer);
    memories.add((piece as Buffer).buffer);
    pieces++;
    // Let zlib run ahead into further rooms while this piece is still being read.
    if (slow) await new Promise((r) => setImmediate(r));
    hash.update(piece as Buffer);
  }
  return { digest: hash.digest('hex'), memories: memories.size, pieces };
}

describe('GzipRooms', () => {
  // With a size guard as unpack has one: its stage must hand the pieces on as they are.
  for (const [slow, maxOutputBytes] of [
    [false, undefined],
    [true, undefined],
    [true, 64 * 1024 * 1024],
  ] as const) {
    const how = `${slow ? 'slow' : 'fast'} reader${maxOutputBytes ? ', size guard' : ''}`;
    it(`gives the same bytes from a few reused rooms (${how})`, async () => {
      const plain = data(6 * 1024 * 1024);
      // Two members, as concatenated gzip (eStargz) layers have.
      const gz = Buffer.concat([
        gzipSync(plain.subarray(0, 2_500_000)),
        gzipSync(plain.subarray(2_500_000)),
      ]);
      const rooms = new GzipRooms(ROOM);
      const out = await decompressIntoRooms(
        Readable.from([gz]),
        { outputChunkBytes: ROOM, ...(maxOutputBytes ? { maxOutputBytes } : {}) },
        rooms,
      );
      const got = await readThrough(out, rooms, slow);
      assert.equal(got.digest, createHash('sha256').update(plain).digest('hex'));
      assert.ok(got.pieces >= plain.length / ROOM, `${got.pieces} pieces`);
      // Fresh buffers would be one per 64 KiB of output (~96); rooms are a handful.
      assert.ok(got.memories <= 12, `${got.memories} distinct buffers`);
    });
  }

  it('serves streams read one after another from the same rooms (unpack shares them by layers)', async () => {
    const rooms = new GzipRooms(ROOM);
    const memories = new Set<ArrayBufferLike>();
    for (const [n, bytes] of [
      [1, 3 * 1024 * 1024],
      [2, 2 * 1024 * 1024 + 12_344],
      [3, 4 * 1024 * 1024],
    ] as const) {
      const plain = data(bytes);
      plain.writeUInt32LE(n, 0); // each stream's bytes differ from the others'
      const out = await decompressIntoRooms(
        Readable.from([gzipSync(plain)]),
        { outputChunkBytes: ROOM, maxOutputBytes: 64 * 1024 * 1024 },
        rooms,
      );
      const hash = createHash('sha256');
      for await (const piece of out) {
        rooms.passed(piece as Buffer);
        memories.add((piece as Buffer).buffer);
        await new Promise((r) => setImmediate(r));
        hash.update(piece as Buffer);
      }
      assert.equal(hash.digest('hex'), createHash('sha256').update(plain).digest('hex'), `${n}`);
    }
    // ~140 pieces in all; the later streams reuse the rooms the earlier ones left.
    assert.ok(memories.size <= 14, `${memories.size} distinct buffers`);
  });

  it('leaves a stream of another chunk size as it is', () => {
    const rooms = new GzipRooms(ROOM);
    assert.equal(rooms.install(createGunzip({ chunkSize: 2 * ROOM })), false);
    assert.equal(rooms.install(createGunzip({ chunkSize: ROOM })), true);
  });

  it('frees nothing for a piece that is not from a room', () => {
    const rooms = new GzipRooms(ROOM);
    const gunzip = createGunzip({ chunkSize: ROOM });
    rooms.install(gunzip);
    const first = (gunzip as unknown as { _outBuffer: Buffer })._outBuffer;
    rooms.passed(Buffer.alloc(10));
    // zlib moves on: a new room, not the first one again (it was not passed).
    (gunzip as unknown as { _outBuffer: Buffer })._outBuffer = Buffer.alloc(ROOM);
    const second = (gunzip as unknown as { _outBuffer: Buffer })._outBuffer;
    assert.notEqual(second.buffer, first.buffer);
    // Once the reader is on the second room, the first comes back.
    rooms.passed(second.subarray(0, 5));
    (gunzip as unknown as { _outBuffer: Buffer })._outBuffer = Buffer.alloc(ROOM);
    assert.equal((gunzip as unknown as { _outBuffer: Buffer })._outBuffer.buffer, first.buffer);
  });
});
