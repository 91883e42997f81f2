import { OcipeekError } from './ocipeek-error.js';

/**
 * An RA-TLS registry refused the client's attestation: the token, its binding to the
 * connection or the realm's measurements were not accepted, or no certificate was sent.
 */
export class AttestationRefusedError extends OcipeekError {
  static readonly code = 'ERR_ATTESTATION_REFUSED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(AttestationRefusedError.code, message, options);
  }
}
