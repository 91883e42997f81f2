import { OcipeekError } from './ocipeek-error.js';

/** A digest string that is not `algorithm:hex` of a supported algorithm. */
export class InvalidDigestError extends OcipeekError {
  static readonly code = 'ERR_INVALID_DIGEST';
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(InvalidDigestError.code, `invalid digest "${input}": ${reason}`);
  }
}
