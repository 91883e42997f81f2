import { OcipeekError } from './ocipeek-error.js';

/** A path that does not exist in an image's filesystem (or runs through a non-directory). */
export class PathNotFoundError extends OcipeekError {
  static readonly code = 'ERR_PATH_NOT_FOUND';
  constructor(
    /** The path as the caller asked for it. */
    readonly path: string,
    /** Why, when it is not plain absence, e.g. `not a directory`. */
    readonly reason = 'no such file or directory',
    /** `path` as the message shows it (escaped by callers whose names may hold bytes). */
    shownPath = path,
  ) {
    super(PathNotFoundError.code, `${shownPath}: ${reason}`);
  }
}
