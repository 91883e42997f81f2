import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReadBuffers } from '../../../src/transport/read-buffers.js';

/** Simulate one read of `n` bytes of `fill`: returns the view index and the bytes' region. */
function read(buffers: ReadBuffers, n: number, fill: number) {
  const region = buffers.next();
  assert.ok(region.length >= n, `room for ${n} bytes, got ${region.length}`);
  region.fill(fill, 0, n);
  const view = buffers.landed(n);
  return { view, bytes: region.subarray(0, n) };
}

describe('ReadBuffers (the memory a connection reads into)', () => {
  it('packs reads into one view front to back, then starts a free view again', () => {
    const buffers = new ReadBuffers(3, 64, 16);
    const a = read(buffers, 16, 1);
    assert.equal(a.view, 0);
    buffers.hold(a.view);
    assert.equal(buffers.advance(), true);
    const b = read(buffers, 16, 2);
    assert.equal(b.view, 0, 'the next read lands after the held one, in the same view');
    assert.equal(a.bytes.buffer, b.bytes.buffer);
    assert.equal(b.bytes.byteOffset, a.bytes.byteOffset + 16);
    buffers.advance();
    read(buffers, 20, 3); // 52 of 64 used: 12 left, less than the minimum room of 16
    buffers.advance();
    const c = read(buffers, 8, 4);
    assert.equal(c.view, 1, 'a full view that is still held is left for a free one');
    assert.ok(
      a.bytes.every((x) => x === 1),
      'the held bytes were not overwritten',
    );
    buffers.release(a.view);
    buffers.hold(c.view);
    read(buffers, 56, 5); // view 1 is full now
    assert.equal(buffers.advance(), true);
    assert.equal(read(buffers, 4, 6).view, 0, 'the first view, free again, is reused');
  });

  it('says to stop when no other view is free, and never hands out held bytes', () => {
    const buffers = new ReadBuffers(2, 32, 16);
    const first = read(buffers, 32, 7);
    buffers.hold(first.view);
    assert.equal(buffers.advance(), false, 'only the target is left: stop reading');
    const second = read(buffers, 32, 8);
    assert.equal(second.view, 1);
    buffers.hold(second.view);
    assert.equal(buffers.advance(), false);
    // TLS hands over records it had decrypted after the stop: they land outside the slab.
    const straggler = read(buffers, 16, 9);
    assert.equal(straggler.view, -1);
    buffers.hold(straggler.view); // no effect on the views
    assert.ok(first.bytes.every((x) => x === 7) && second.bytes.every((x) => x === 8));
    buffers.release(first.view);
    assert.equal(buffers.hasSpare(), true, 'the released view is spare again');
    buffers.advance();
    assert.equal(read(buffers, 16, 10).view, 0, 'after the release, the free view is used');
    assert.equal(buffers.hasSpare(), false);
    buffers.release(second.view);
    assert.equal(buffers.hasSpare(), true);
  });
});
