import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { constants, deflateRawSync, gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import {
  BlockInflater,
  defaultInflateEngine,
  type InflateEngine,
  InflateFailure,
  inflateRange,
  WINDOW_SIZE,
} from '../../../../src/lazy/seek-index/raw-inflate.js';

interface Point {
  bit: number;
  out: number;
  window: Uint8Array;
}

/** Inflate `gz` through a BlockInflater fed `piece` bytes at a time, a checkpoint at every block. */
function walk(
  gz: Buffer,
  piece: number,
  engine: InflateEngine,
): { out: Buffer; points: Point[]; used: number } {
  const parts: Uint8Array[] = [];
  const points: Point[] = [];
  const inflater = new BlockInflater(
    { wrapper: 'gzip', outputPiece: 64 * 1024, engine },
    // A view is valid until the second write after it: keep copies.
    (p) => parts.push(Buffer.from(p)),
    (at, window) => points.push({ ...at, window: window() }),
  );
  let used = 0;
  for (let i = 0; i < gz.length && !inflater.done; i += piece) {
    let chunk = gz.subarray(i, Math.min(i + piece, gz.length));
    while ((chunk.length > 0 || inflater.outputFull) && !inflater.done) {
      const n = inflater.write(chunk);
      used += n;
      chunk = chunk.subarray(n);
    }
  }
  assert.ok(inflater.done, 'the member ends');
  inflater.close();
  return { out: Buffer.concat(parts), points, used };
}

/** Text-like data with long-distance repeats, so blocks refer back across checkpoints. */
function textish(size: number): Buffer {
  const words = ['alpha ', 'beta ', 'gamma\n', 'delta ', 'epsilon ', 'zeta\t', 'eta '];
  const parts: string[] = [];
  let n = 0;
  let seed = 7;
  while (n < size) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const w = words[seed % words.length]! + (seed % 97 === 0 ? String(seed) : '');
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

/** The project's own sources as a tar: real text, packed by GNU tar. */
function realTar(): Buffer {
  return execFileSync('tar', ['-C', process.cwd(), '-cf', '-', 'src'], {
    maxBuffer: 1 << 30,
  });
}

/** Every checkpoint, entered alone, inflates exactly what the whole stream has there. */
function checkEveryPoint(gz: Buffer, plain: Buffer, piece: number, engine: InflateEngine): number {
  const { out, points, used } = walk(gz, piece, engine);
  assert.equal(used, gz.length, 'the whole member was used');
  assert.ok(out.equals(plain), 'streamed output equals zlib');
  assert.ok(points.length > 0);
  assert.equal(points[0]!.out, 0, 'the first checkpoint is the deflate start');
  for (const [i, p] of points.entries()) {
    assert.equal(
      Buffer.compare(p.window, plain.subarray(Math.max(0, p.out - WINDOW_SIZE), p.out)),
      0,
      `window of checkpoint ${i}`,
    );
    const next = points[i + 1];
    const length = (next?.out ?? plain.length) - p.out;
    const endByte = next ? Math.ceil(next.bit / 8) : gz.length;
    const got = inflateRange(
      gz.subarray(Math.floor(p.bit / 8), endByte),
      { bitShift: p.bit % 8, window: p.window },
      length,
      engine,
    );
    assert.ok(got.equals(plain.subarray(p.out, p.out + length)), `span from checkpoint ${i}`);
  }
  return points.length;
}

it("Node's own zlib through koffi (libz) is the engine used here", () => {
  assert.equal(defaultInflateEngine(), 'libz');
});

it('libz and pako stop at the same block boundaries with the same windows', () => {
  const tar = realTar();
  const gz = execFileSync('gzip', ['-6', '-n', '-c'], { input: tar, maxBuffer: 1 << 30 });
  const a = walk(gz, 100_000, 'libz');
  const b = walk(gz, 100_000, 'pako');
  assert.ok(a.out.equals(tar) && b.out.equals(tar));
  assert.equal(a.points.length, b.points.length);
  assert.ok(a.points.length > 10, `${a.points.length} blocks`);
  for (const [i, p] of a.points.entries()) {
    const q = b.points[i]!;
    assert.deepEqual([p.bit, p.out], [q.bit, q.out], `boundary ${i}`);
    assert.ok(Buffer.from(p.window).equals(Buffer.from(q.window)), `window ${i}`);
  }
});

for (const engine of ['libz', 'pako'] as const)
  describe(`raw inflate from a bit offset (${engine})`, () => {
    it('random bytes: stored blocks, every checkpoint re-entered', () => {
      const plain = randomBytes(700_000);
      const n = checkEveryPoint(gzipSync(plain), plain, 65_536, engine);
      assert.ok(n >= 1);
    });

    for (const level of [1, 6, 9]) {
      it(`text-like data at zlib level ${level}, fed in odd pieces`, () => {
        const plain = textish(3_000_000);
        const n = checkEveryPoint(gzipSync(plain, { level }), plain, 77_777, engine);
        assert.ok(n > 5, `${n} blocks`);
      });
    }

    it('fixed-Huffman blocks (Z_FIXED), whose boundaries are seldom byte-aligned', () => {
      const plain = textish(1_500_000);
      const gz = gzipSync(plain, { strategy: constants.Z_FIXED });
      const { points } = walk(gz, 1 << 20, engine);
      assert.ok(
        points.some((p) => p.bit % 8 !== 0),
        'some checkpoints start mid-byte',
      );
      checkEveryPoint(gz, plain, 1 << 20, engine);
    });

    it('a real tar (the project sources) compressed by zlib and by GNU gzip -9', () => {
      const tar = realTar();
      checkEveryPoint(gzipSync(tar), tar, 1 << 20, engine);
      const gnu = execFileSync('gzip', ['-9', '-n', '-c'], { input: tar, maxBuffer: 1 << 30 });
      assert.ok(gunzipSync(gnu).equals(tar));
      checkEveryPoint(gnu, tar, 1 << 20, engine);
    });

    it('stops where the member ends and reports how much input it used', () => {
      const a = gzipSync(Buffer.from('first member'));
      const b = gzipSync(Buffer.from('second'));
      const { out, used } = walk(Buffer.concat([a, b]), 5, engine);
      assert.equal(out.toString(), 'first member');
      assert.equal(used, a.length);
    });

    it('a raw stream entered at its start needs no window', () => {
      const plain = textish(100_000);
      const raw = deflateRawSync(plain);
      assert.ok(
        inflateRange(raw, { bitShift: 0, window: new Uint8Array() }, plain.length, engine).equals(
          plain,
        ),
      );
      assert.ok(inflateRawSync(raw).equals(plain));
    });

    it('fails instead of returning short or wrong output', () => {
      const plain = textish(200_000);
      const raw = deflateRawSync(plain);
      const none = { bitShift: 0, window: new Uint8Array() };
      assert.throws(() => inflateRange(raw, none, plain.length + 1, engine), InflateFailure);
      assert.throws(
        () => inflateRange(raw.subarray(0, 100), none, plain.length, engine),
        InflateFailure,
      );
      assert.throws(
        () => inflateRange(Buffer.from([0xff, 0xff, 0xff, 0xff]), none, 10, engine),
        /invalid|ran out/,
      );
    });
  });
