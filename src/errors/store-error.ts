import { OcipeekError } from './ocipeek-error.js';

/**
 * The local store cannot be used or changed: a full disk, a permission problem, a store
 * written by a newer ocipeek, or a lock that could not be taken. `path` names the file or
 * folder involved; `reason` is the underlying errno code (`ENOSPC`, `EACCES`) when there
 * is one.
 */
export class StoreError extends OcipeekError {
  static readonly code = 'ERR_STORE';
  constructor(
    message: string,
    readonly path: string,
    readonly reason?: string,
    options?: { cause?: unknown },
  ) {
    super(StoreError.code, message, options);
  }
}
