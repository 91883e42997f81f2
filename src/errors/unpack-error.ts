import { OcipeekError } from './ocipeek-error.js';

/**
 * Unpacking a layer into a directory failed part way. The underlying error (a digest
 * mismatch, a decompression bomb, a malformed tar, a full disk…) is the `cause`; the message
 * also says what is left on disk, since the target directory then holds a partial root
 * filesystem that should be removed before retrying.
 */
export class UnpackError extends OcipeekError {
  static readonly code = 'ERR_UNPACK';
  constructor(
    message: string,
    /** The directory that holds the partial extraction. */
    readonly dir: string,
    /** 0-based index of the layer that failed, when a layer failed (not the final pass). */
    readonly layerIndex: number | undefined,
    /** Layers applied completely before the failure. */
    readonly completedLayers: number,
    options?: { cause?: unknown },
  ) {
    super(UnpackError.code, message, options);
  }
}
