import { OcipeekError } from './ocipeek-error.js';

/** What is wrong with a lazily read layer (eStargz, zstd:chunked, a seek index). */
export type LazyLayerProblem =
  | 'footer'
  | 'toc'
  | 'toc-digest'
  | 'offset'
  | 'chunk-digest'
  | 'file-digest'
  | 'range'
  | 'not-found'
  | 'seek-index'
  | 'span-digest';

/**
 * A lazily read layer that cannot be trusted or read: its footer, TOC, offsets, chunk
 * digests or range answers are wrong. The message names the layer; no bytes that failed
 * a check are ever handed out before this error.
 */
export class LazyLayerError extends OcipeekError {
  static readonly code = 'ERR_LAZY_LAYER';
  constructor(
    /** The layer as shown to users (`layer 2 (sha256:…)`). */
    readonly layer: string,
    readonly problem: LazyLayerProblem,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(LazyLayerError.code, `${layer}: ${message}`, options);
  }
}
