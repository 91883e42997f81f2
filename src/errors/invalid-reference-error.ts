import { OcipeekError } from './ocipeek-error.js';

/** A reference (image name, tag or digest) that cannot be parsed. */
export class InvalidReferenceError extends OcipeekError {
  static readonly code = 'ERR_INVALID_REFERENCE';
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(InvalidReferenceError.code, `invalid reference "${input}": ${reason}`);
  }
}
