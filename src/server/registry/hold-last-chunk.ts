import { Transform, type TransformCallback } from 'node:stream';

/**
 * Passes chunks on one step late and releases the last one only when its source ends
 * cleanly. Placed after a verifying stream in an HTTP answer, it means a blob that fails
 * its digest check never reaches its `Content-Length`: the client sees a cut-off answer
 * instead of a complete, wrong one (a small blob would otherwise be sent whole before
 * the check at the end fails).
 */
export class HoldLastChunk extends Transform {
  private held: Buffer | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const previous = this.held;
    this.held = chunk;
    done(null, previous);
  }

  override _flush(done: TransformCallback): void {
    done(null, this.held);
  }
}
