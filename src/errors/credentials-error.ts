import { OcipeekError } from './ocipeek-error.js';

/** Credentials that could not be read: a broken auth file or a failing credential helper. */
export class CredentialsError extends OcipeekError {
  static readonly code = 'ERR_CREDENTIALS';
  constructor(message: string, options?: { cause?: unknown }) {
    super(CredentialsError.code, message, options);
  }
}
