import { OcipeekError } from './ocipeek-error.js';

/** The host could not be reached, the connection broke, or a request timed out. */
export class NetworkError extends OcipeekError {
  static readonly code = 'ERR_NETWORK';
  constructor(message: string, options?: { cause?: unknown }) {
    super(NetworkError.code, message, options);
  }
}
