import { OcipeekError } from './ocipeek-error.js';

/** A manifest, index or config that is not valid JSON of the expected shape. */
export class InvalidManifestError extends OcipeekError {
  static readonly code = 'ERR_INVALID_MANIFEST';
  constructor(message: string, options?: { cause?: unknown }) {
    super(InvalidManifestError.code, message, options);
  }
}
