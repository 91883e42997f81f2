import { OcipeekError } from './ocipeek-error.js';

/** Why a WebAssembly artifact or binary was refused. */
export type InvalidWasmReason =
  /** The reference is a container image (or other artifact), not WebAssembly. */
  | 'not-wasm'
  /** The blob does not start with the `\0asm` magic. */
  | 'bad-magic'
  /** The header's version/layer field names no known module or component encoding. */
  | 'bad-version'
  /** The wasm layer is empty (or too short to hold a header). */
  | 'empty'
  /** The manifest has more than one wasm layer, so which one to run is ambiguous. */
  | 'several-layers'
  /** The manifest has no layer that could hold the module. */
  | 'no-layer';

/**
 * A WebAssembly artifact or binary that cannot be used: a blob that is not wasm, an
 * ambiguous or empty wasm layer, or a reference that is not a wasm artifact at all.
 */
export class InvalidWasmError extends OcipeekError {
  static readonly code = 'ERR_INVALID_WASM';
  constructor(
    /** What exactly is wrong, for callers that switch on it. */
    readonly reason: InvalidWasmReason,
    message: string,
  ) {
    super(InvalidWasmError.code, message);
  }
}
