import { OcipeekError } from './ocipeek-error.js';

/** Bytes that are not a well-formed Arm CCA attestation token. */
export class InvalidAttestationTokenError extends OcipeekError {
  static readonly code = 'ERR_INVALID_ATTESTATION_TOKEN';
  constructor(message: string, options?: { cause?: unknown }) {
    super(InvalidAttestationTokenError.code, message, options);
  }
}
