import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutputRooms } from '../../../src/compression/index.js';

describe('OutputRooms', () => {
  it('hands a room given back out again, cut or whole', () => {
    const rooms = new OutputRooms(4096);
    const a = rooms.take();
    assert.equal(a.length, 4096);
    a.fill(1);
    rooms.giveBack(a.subarray(0, 1000)); // a chunk cut from the room
    const b = rooms.take();
    assert.equal(b.buffer, a.buffer);
    assert.equal(b.length, 4096);
    assert.notEqual(rooms.take().buffer, a.buffer, 'a room out is never handed out twice');
  });

  it('ignores chunks it did not hand out, and a room given back twice', () => {
    const rooms = new OutputRooms(4096);
    rooms.giveBack(Buffer.alloc(4096));
    rooms.giveBack(Buffer.allocUnsafeSlow(4096));
    const a = rooms.take();
    rooms.giveBack(a);
    rooms.giveBack(a);
    const first = rooms.take();
    const second = rooms.take();
    assert.equal(first.buffer, a.buffer);
    assert.notEqual(second.buffer, a.buffer, 'the room given back twice came out twice');
    // A room of another pool is not taken in either.
    const other = new OutputRooms(4096).take();
    rooms.giveBack(other);
    assert.notEqual(rooms.take().buffer, other.buffer);
  });

  it('keeps at most `keep` rooms for reuse', () => {
    const rooms = new OutputRooms(1024, 2);
    const out = [rooms.take(), rooms.take(), rooms.take()];
    for (const r of out) rooms.giveBack(r);
    const again = new Set([rooms.take().buffer, rooms.take().buffer, rooms.take().buffer]);
    const kept = out.filter((r) => again.has(r.buffer)).length;
    assert.equal(kept, 2);
  });
});
