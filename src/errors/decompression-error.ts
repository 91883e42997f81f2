import { OcipeekError } from './ocipeek-error.js';

/** Compressed bytes (gzip, zstd) that cannot be decompressed: corrupt or truncated data. */
export class DecompressionError extends OcipeekError {
  static readonly code = 'ERR_DECOMPRESSION';
  constructor(
    /** The compression that failed, e.g. `gzip` or `zstd`. */
    readonly compression: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(DecompressionError.code, `${compression} decompression failed: ${detail}`, options);
  }
}
