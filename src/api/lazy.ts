/**
 * `ocipeek/lazy`: reading remote layers without downloading them whole: range peeks of
 * ordinary layers, eStargz and zstd:chunked tables of contents.
 *
 * @packageDocumentation
 */

export {
  type BlobRangeSource,
  type LazyFormat,
  type LazyImage,
  type LazyLayer,
  lazyFormatOf,
  openLazyFile,
  openLazyImage,
  openLazyLayer,
  registryRangeSource,
  storeRangeSource,
} from '../lazy/index.js';
export type { LazyChunk, LazyEntry, PrefetchInfo } from '../lazy/lazy-entry.js';
export type { OpenLazyImageOptions } from '../lazy/lazy-image.js';
export type { LazyOpenOptions, OpenLazyLayerOptions } from '../lazy/lazy-layer.js';
export {
  type ImagePeekResult,
  type LayerPeekResult,
  type PeekImageOptions,
  peekImage,
} from '../lazy/peek-image.js';
export {
  type PeekBlobOptions,
  type PeekDescriptor,
  type PeekEntry,
  type PeekEvent,
  type PeekLayerOptions,
  type PeekSummary,
  peekBlob,
  peekLayer,
} from '../lazy/peek-layer.js';
export type { PeekRange, PeekRangeSource } from '../lazy/peek-source.js';
export type {
  RangeReadOptions,
  RangeSourceOptions,
  RegistryRangeSourceOptions,
  StoreRangeSourceOptions,
} from '../lazy/range-source.js';
export { parseSize } from '../util/parse-size.js';
