import { OcipeekError } from './ocipeek-error.js';

/**
 * A layer's tar stream that cannot be read: a bad header checksum, a malformed numeric
 * field or PAX record, or an archive that ends in the middle of an entry.
 */
export class InvalidTarError extends OcipeekError {
  static readonly code = 'ERR_INVALID_TAR';
  constructor(
    message: string,
    /** Offset in the uncompressed tar where the problem was found, when known. */
    readonly offset?: number,
  ) {
    super(
      InvalidTarError.code,
      offset === undefined ? `invalid tar: ${message}` : `invalid tar at ${offset}: ${message}`,
    );
  }
}
