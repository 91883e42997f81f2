import { OcipeekError } from './ocipeek-error.js';

/** Content whose hash does not match the digest it was fetched or stored under. */
export class DigestMismatchError extends OcipeekError {
  static readonly code = 'ERR_DIGEST_MISMATCH';
  constructor(
    readonly expected: string,
    readonly actual: string,
    what = 'content',
  ) {
    super(DigestMismatchError.code, `digest mismatch for ${what} ${expected}: got ${actual}`);
  }
}
