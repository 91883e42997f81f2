import { OcipeekError } from './ocipeek-error.js';

/** An image, tag, manifest, blob or repository the registry does not have. */
export class NotFoundError extends OcipeekError {
  static readonly code = 'ERR_NOT_FOUND';
  constructor(
    message: string,
    readonly registryCode?: string,
  ) {
    super(NotFoundError.code, message);
  }
}
