import { escapeName } from '../tar/name-codec.js';
import { OcipeekError } from './ocipeek-error.js';

/** A path that does not exist in an image's filesystem (or runs through a non-directory). */
export class PathNotFoundError extends OcipeekError {
  static readonly code = 'ERR_PATH_NOT_FOUND';
  constructor(
    /** The path as the caller asked for it. */
    readonly path: string,
    /** Why, when it is not plain absence, e.g. `not a directory`. */
    readonly reason = 'no such file or directory',
  ) {
    // Names are bytes: the message shows them escaped (`caf\xe9`), on one line.
    super(PathNotFoundError.code, `${escapeName(path)}: ${escapeName(reason)}`);
  }
}
