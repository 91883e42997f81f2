import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { InlinePieceHasher, PieceHasher } from '../../../../src/lazy/seek-index/piece-hasher.js';

it('the hashing thread gives each piece the digest of its bytes, through full rings', async () => {
  // 40 MiB (five times the byte ring) in updates of odd sizes, from one buffer reused and
  // overwritten after each update (as the inflater's rooms are); 6,000 cuts (more than the
  // ring of piece ends), some of them empty pieces.
  const data = randomBytes(40 * 1024 * 1024);
  const room = Buffer.alloc(300_000);
  const thread = new PieceHasher();
  const inline = new InlinePieceHasher();
  const expected: string[] = [];
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
    assert.deepEqual(await thread.finish(), expected);
    assert.deepEqual(await inline.finish(), expected);
  } finally {
    thread.close();
  }
});
