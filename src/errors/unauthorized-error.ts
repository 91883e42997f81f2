import { OcipeekError } from './ocipeek-error.js';

/** The registry refused the credentials (or their absence). */
export class UnauthorizedError extends OcipeekError {
  static readonly code = 'ERR_UNAUTHORIZED';
  constructor(
    message: string,
    readonly status = 401,
  ) {
    super(UnauthorizedError.code, message);
  }
}
