import { OcipeekError } from './ocipeek-error.js';

/** Resolving a path followed too many symbolic links (a loop), like the kernel's ELOOP. */
export class SymlinkLoopError extends OcipeekError {
  static readonly code = 'ERR_SYMLINK_LOOP';
  constructor(
    /** The path as the caller asked for it. */
    readonly path: string,
    /** How many links were followed before giving up. */
    readonly hops: number,
  ) {
    super(SymlinkLoopError.code, `${path}: too many levels of symbolic links (${hops})`);
  }
}
