import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { blobStreamOfBytes } from '../../../src/registry/cached-blob-stream.js';

// A cached blob handed out as a BlobStream: its consumer may read it as a stream or give
// it a sink with pipeTo, at any time after it got it.

describe('blobStreamOfBytes', () => {
  it('gives every byte to a pipeTo that comes turns after it was made', async () => {
    const bytes = randomBytes(100_000);
    const stream = blobStreamOfBytes(bytes);
    await nextTurn(); // the consumer awaited something first (a lock, a file open)
    await nextTurn();
    const got: Buffer[] = [];
    await stream.pipeTo((piece) => {
      got.push(Buffer.from(piece));
      return undefined;
    });
    assert.ok(Buffer.concat(got).equals(bytes));
  });

  it('reads as a stream, and refuses a pipeTo once it is being read', async () => {
    const bytes = randomBytes(50_000);
    const stream = blobStreamOfBytes(bytes);
    await nextTurn();
    assert.ok(Buffer.concat(await stream.toArray()).equals(bytes));
    assert.throws(() => blobStreamAfterRead(), /already being read/);
  });
});

/** A blob stream whose first chunk was read, then given to pipeTo. */
function blobStreamAfterRead(): void {
  const stream = blobStreamOfBytes(randomBytes(10));
  stream.read();
  void stream.pipeTo(() => undefined);
}
