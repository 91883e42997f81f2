import { OcipeekError } from './ocipeek-error.js';

/** An HTTP error from a registry not covered by a more specific error. */
export class RegistryError extends OcipeekError {
  static readonly code = 'ERR_REGISTRY';
  constructor(
    message: string,
    readonly status: number,
    readonly registryCode?: string,
  ) {
    super(RegistryError.code, message);
  }
}
