import { Transform, type TransformCallback } from 'node:stream';
import { TooLargeError } from '../errors/index.js';

/**
 * A pass-through stream that fails with {@link TooLargeError} as soon as more than
 * `maxBytes` have flowed through it. Put after a decompressor, it turns a decompression
 * bomb (a tiny layer that inflates without bound) into a clear error instead of hours of
 * CPU and a full disk.
 */
export class DecompressionLimit extends Transform {
  /** Bytes seen so far. */
  bytes = 0;

  constructor(
    readonly maxBytes: number,
    /** What the error names, e.g. `decompressed layer sha256:…`. */
    readonly what = 'decompressed data',
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      done(new TooLargeError(this.what, this.maxBytes));
      return;
    }
    done(null, chunk);
  }
}
