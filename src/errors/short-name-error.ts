import { OcipeekError } from './ocipeek-error.js';

/**
 * A short name (`alpine`) that registries.conf cannot turn into one image: ambiguous in
 * `short-name-mode = "enforcing"` with nobody to ask, or with nowhere to look.
 */
export class ShortNameError extends OcipeekError {
  static readonly code = 'ERR_SHORT_NAME';
  constructor(
    readonly shortName: string,
    message: string,
    /** The fully qualified names it could mean, in search order. */
    readonly candidates: readonly string[] = [],
  ) {
    super(ShortNameError.code, message);
  }
}
