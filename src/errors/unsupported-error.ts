import { OcipeekError } from './ocipeek-error.js';

/** A format or feature ocipeek recognises but does not support (e.g. Docker schema1). */
export class UnsupportedError extends OcipeekError {
  static readonly code = 'ERR_UNSUPPORTED';
  constructor(message: string) {
    super(UnsupportedError.code, message);
  }
}
