import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { packWindow } from '../../../../src/lazy/seek-index/pack-window.js';
import { InlinePieceHasher, PieceHasher } from '../../../../src/lazy/seek-index/piece-hasher.js';

it('the hashing thread gives each piece the digest of its bytes and packs the windows, through full rings', async () => {
  // 40 MiB (five times the byte ring) in updates of odd sizes, from one buffer reused and
  // overwritten after each update (as the inflater's rooms are); 6,000 cuts (more than the
  // ring of piece ends), some of them empty pieces; a window (up to 32 KiB, some stored,
  // some deflated, some across the ring's end) after one update in four: more than the
  // ring of window requests. Half the data repeats, so that deflated windows shrink.
  const half = randomBytes(20 * 1024 * 1024);
  const data = Buffer.concat([half, half]);
  const room = Buffer.alloc(300_000);
  const thread = new PieceHasher();
  const inline = new InlinePieceHasher();
  const expected: string[] = [];
  const expectedWindows: Buffer[] = [];
  let pieceFrom = 0;
  let at = 0;
  let seed = 5;
  const next = (n: number) => {
    seed = (seed * 48271) % 2147483647;
    return seed % n;
  };
  try {
    while (at < data.length) {
      const n = Math.min(data.length - at, 1 + next(next(20) === 0 ? room.length : 6_000));
      data.copy(room, 0, at, at + n);
      thread.update(room.subarray(0, n));
      inline.update(room.subarray(0, n));
      room.fill(0xee);
      at += n;
      if (next(4) === 0) {
        const length = Math.min(at, next(3) === 0 ? 32 * 1024 : next(32 * 1024 + 1));
        const incompressible = next(2) === 0;
        const bytes = () => Uint8Array.from(data.subarray(at - length, at));
        thread.window(length, incompressible);
        inline.window(length, incompressible, bytes);
        expectedWindows.push(packWindow(data.subarray(at - length, at), incompressible));
      }
      const cuts = next(100) < 60 ? 1 + next(3) : 0;
      for (let k = 0; k < cuts; k++) {
        thread.cut();
        inline.cut();
        expected.push(
          `sha256:${createHash('sha256').update(data.subarray(pieceFrom, at)).digest('hex')}`,
        );
        pieceFrom = at;
      }
    }
    assert.ok(expected.length > 4096, `${expected.length} pieces`);
    assert.ok(expected.filter((d, i) => d === expected[i - 1]).length > 100, 'empty pieces');
    assert.ok(expectedWindows.length > 256, `${expectedWindows.length} windows`);
    for (const hasher of [thread, inline]) {
      const { digests, windows } = await hasher.finish();
      assert.deepEqual(digests, expected);
      assert.equal(windows.length, expectedWindows.length);
      for (const [i, w] of windows.entries()) {
        assert.ok(Buffer.from(w).equals(expectedWindows[i]!), `window ${i}`);
      }
    }
    // The packed windows are the data's bytes (a check of the expectation itself).
    const last = expectedWindows.findLast((w) => w.length > 0)!;
    assert.ok(inflateRawSync(last).length > 0);
  } finally {
    thread.close();
  }
});
