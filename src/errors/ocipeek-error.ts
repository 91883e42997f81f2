/**
 * The base of every error ocipeek throws on purpose.
 *
 * Each subclass carries a stable string `code` that callers can switch on (like
 * undici's `UND_ERR_*` or node-tar's `TAR_*`), keeps the underlying `cause`, and has a
 * message that reads as one clear line for the CLI.
 */
export class OcipeekError extends Error {
  /** A stable machine-readable code, e.g. `ERR_DIGEST_MISMATCH`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True when `err` is an ocipeek error, optionally with the given code. */
export function isOcipeekError(err: unknown, code?: string): err is OcipeekError {
  return err instanceof OcipeekError && (code === undefined || err.code === code);
}
