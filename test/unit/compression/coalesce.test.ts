import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { Coalesce } from '../../../src/compression/coalesce.js';

async function chunksOf(pieces: Buffer[], size: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of Readable.from(pieces, { objectMode: false }).pipe(new Coalesce(size))) {
    out.push(c as Buffer);
  }
  return out;
}

describe('Coalesce', () => {
  it('gathers small chunks into pieces of at least the size, bytes and order intact', async () => {
    const pieces = Array.from({ length: 100 }, (_, i) => randomBytes(1000 + i));
    const out = await chunksOf(pieces, 10_000);
    assert.deepEqual(Buffer.concat(out), Buffer.concat(pieces));
    for (const c of out.slice(0, -1)) assert.ok(c.length >= 10_000, `${c.length}`);
    assert.ok(out.length < 15, `${out.length} pieces for ~105 KB in 10 KB pieces`);
  });

  it('passes a chunk already as large as the size through without copying', async () => {
    const big = randomBytes(50_000);
    const out = await chunksOf([big], 10_000);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.buffer, big.buffer);
  });

  it('hands on the short remainder at the end, and nothing for an empty stream', async () => {
    assert.deepEqual(await chunksOf([Buffer.from('ab'), Buffer.from('c')], 1 << 20), [
      Buffer.from('abc'),
    ]);
    assert.deepEqual(await chunksOf([], 1 << 20), []);
  });
});
