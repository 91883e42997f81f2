import { OcipeekError } from './ocipeek-error.js';

/** A TLS handshake failure: untrusted certificate, wrong host name, missing client cert. */
export class TlsError extends OcipeekError {
  static readonly code = 'ERR_TLS';
  constructor(message: string, options?: { cause?: unknown }) {
    super(TlsError.code, message, options);
  }
}
