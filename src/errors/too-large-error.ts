import { OcipeekError } from './ocipeek-error.js';

/** A manifest, error body or other capped read that exceeds its limit. */
export class TooLargeError extends OcipeekError {
  static readonly code = 'ERR_TOO_LARGE';
  constructor(
    readonly what: string,
    readonly limit: number,
  ) {
    super(TooLargeError.code, `${what} exceeds the limit of ${limit} bytes`);
  }
}
