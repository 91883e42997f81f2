import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError, SizeMismatchError } from '../errors/index.js';
import { createDigester, parseDigest } from './digest.js';

/** What a {@link VerifyingStream} checks. */
export interface VerifyOptions {
  /** The digest the content must hash to. */
  digest: string;
  /** The exact size in bytes; omit when unknown (then only the digest is checked). */
  size?: number;
}

/**
 * A pass-through stream that hashes what flows through it, refuses more bytes than the
 * declared size as soon as they arrive, and fails before signalling its end when the
 * digest or size does not match. A consumer that sees `end` has verified bytes.
 */
export class VerifyingStream extends Transform {
  readonly digest: string;
  readonly size: number | undefined;
  private readonly hash;
  private readonly expectedHex: string;
  /** Bytes seen so far. */
  bytes = 0;

  constructor(options: VerifyOptions) {
    super();
    const parsed = parseDigest(options.digest);
    this.digest = options.digest;
    this.size = options.size;
    this.hash = createDigester(parsed.algorithm);
    this.expectedHex = parsed.hex;
  }

  /** Feed bytes that were already delivered elsewhere (a resumed download's prefix). */
  seed(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.size !== undefined && this.bytes > this.size) {
      done(new SizeMismatchError(this.digest, this.size, this.bytes));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.size !== undefined && this.bytes !== this.size) {
      done(new SizeMismatchError(this.digest, this.size, this.bytes));
      return;
    }
    const actual = this.hash.digest('hex');
    if (actual !== this.expectedHex) {
      const alg = this.digest.slice(0, this.digest.indexOf(':'));
      done(new DigestMismatchError(this.digest, `${alg}:${actual}`, 'blob'));
      return;
    }
    done();
  }
}
