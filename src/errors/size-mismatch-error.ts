import { OcipeekError } from './ocipeek-error.js';

/** Content longer or shorter than the size its descriptor declares. */
export class SizeMismatchError extends OcipeekError {
  static readonly code = 'ERR_SIZE_MISMATCH';
  constructor(
    readonly digest: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(
      SizeMismatchError.code,
      actual > expected
        ? `${digest}: more than the declared ${expected} bytes`
        : `${digest}: expected ${expected} bytes, got ${actual}`,
    );
  }
}
