import { OcipeekError } from './ocipeek-error.js';

/** An option or argument with a value ocipeek cannot use. */
export class InvalidArgumentError extends OcipeekError {
  static readonly code = 'ERR_INVALID_ARGUMENT';
  constructor(message: string) {
    super(InvalidArgumentError.code, message);
  }
}
