import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryTier } from '../../../src/util/memory-tier.js';

const bytes = (n: number, fill = 1) => Buffer.alloc(n, fill);

describe('MemoryTier', () => {
  it('drops the least recently used entries once its byte budget is spent', () => {
    const tier = new MemoryTier({ maxBytes: 300, maxObjectBytes: 150 });
    tier.set('a', { bytes: bytes(100, 1) });
    tier.set('b', { bytes: bytes(100, 2) });
    tier.set('c', { bytes: bytes(100, 3) });
    assert.equal(tier.bytes, 300);
    assert.equal(tier.get('a')?.bytes[0], 1); // a is now the most recent
    tier.set('d', { bytes: bytes(100, 4) });
    assert.equal(tier.get('b'), undefined, 'b was the least recently used');
    assert.deepEqual(
      ['a', 'c', 'd'].map((k) => tier.get(k)?.bytes[0]),
      [1, 3, 4],
    );
    assert.equal(tier.bytes, 300);
    assert.equal(tier.count, 3);
    assert.equal(tier.evictions, 1);
  });

  it('never holds objects above its per-object bound, and replaces a key in place', () => {
    const tier = new MemoryTier({ maxBytes: 1000, maxObjectBytes: 100 });
    tier.set('big', { bytes: bytes(101) });
    assert.equal(tier.get('big'), undefined);
    tier.set('k', { bytes: bytes(50) });
    tier.set('k', { bytes: bytes(80, 9), mediaType: 'x' });
    assert.equal(tier.bytes, 80);
    assert.equal(tier.get('k')?.mediaType, 'x');
    assert.equal(tier.delete('k'), true);
    assert.equal(tier.bytes, 0);
  });

  it('holds nothing with a budget of 0', () => {
    const tier = new MemoryTier({ maxBytes: 0 });
    assert.equal(tier.fits(1), false);
    tier.set('a', { bytes: bytes(1) });
    assert.equal(tier.count, 0);
  });
});
