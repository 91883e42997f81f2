import type { Duplex } from 'node:stream';
import { DecompressionError } from '../errors/index.js';

/**
 * True for errors zlib raises about the data it was given (codes `Z_DATA_ERROR`,
 * `Z_BUF_ERROR`…, and `ZSTD_error_*` from Node's zstd), as opposed to errors handed in from
 * the source or an abort, which pass through unchanged.
 */
export function isZlibDataError(err: Error): boolean {
  return /^(Z_|ZSTD_)/.test(String((err as NodeJS.ErrnoException).code));
}

/** `err` as a {@link DecompressionError} when it is zlib's own, else unchanged. */
export function zlibError(err: Error, compression: string): Error {
  return isZlibDataError(err)
    ? new DecompressionError(compression, err.message, { cause: err })
    : err;
}

/**
 * Make a zlib stream emit its own errors (corrupt data, unexpected end of file) as
 * {@link DecompressionError}. `_destroy` is the stream hook that decides which error is
 * emitted, so mapping there also covers the case where the stream is the last stage.
 */
export function withDecompressionErrors<T extends Duplex>(stream: T, compression: string): T {
  const base = stream._destroy.bind(stream);
  stream._destroy = (err, done) => base(err, (e) => done(e && zlibError(e, compression)));
  return stream;
}
