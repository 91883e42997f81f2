/**
 * `ocipeek/lazy`: reading remote layers without downloading them whole: range peeks of
 * ordinary layers, eStargz and zstd:chunked tables of contents, seek indexes of gzip
 * layers (built, published as referrers, found and read).
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
export {
  type BuildLayerSeekIndexOptions,
  type BuiltLayerSeekIndex,
  buildLayerSeekIndex,
} from '../lazy/seek-index/build-layer-index.js';
export {
  type BuildSeekIndexOptions,
  type BuiltSeekIndex,
  buildSeekIndex,
  writeSeekIndex,
} from '../lazy/seek-index/build-seek-index.js';
export {
  type FindSeekIndexOptions,
  findSeekIndex,
  type ImageSeekIndex,
  NO_INDEX_TTL_MS,
} from '../lazy/seek-index/find-seek-index.js';
export type { InflateEngine } from '../lazy/seek-index/raw-inflate.js';
export {
  DEFAULT_PIECE,
  DEFAULT_SPAN,
  decodeLayerSeekIndex,
  encodeLayerSeekIndex,
  type LayerSeekIndex,
  SEEK_INDEX_ARTIFACT_TYPE,
  SEEK_INDEX_LAYER_ANNOTATION,
  SEEK_INDEX_RECORDS_MEDIA_TYPE,
  SEEK_INDEX_TABLE_MEDIA_TYPE,
  type SeekCheckpoint,
  type SeekPiece,
  type SpanRecord,
} from '../lazy/seek-index/seek-index-format.js';
export { SpanRecords } from '../lazy/seek-index/span-records.js';
export {
  type BuildSociIndexOptions,
  type BuiltSociIndex,
  buildSociIndex,
  DEFAULT_SOCI_MIN_LAYER_SIZE,
  SOCI_ANNOTATIONS,
  SOCI_INDEX_ARTIFACT_TYPE,
  SOCI_ZTOC_MEDIA_TYPE,
  writeSociIndex,
} from '../lazy/soci/build-soci-index.js';
export {
  type BuildLayerZtocOptions,
  type BuiltZtoc,
  buildLayerZtoc,
  DEFAULT_SOCI_SPAN,
  ZTOC_VERSION,
} from '../lazy/soci/build-ztoc.js';
export {
  decodeGzipZinfo,
  encodeGzipZinfo,
  type GzipZinfo,
  type ZinfoCheckpoint,
} from '../lazy/soci/gzip-zinfo.js';
export { type ParsedZtoc, parseZtoc, readZtocRange, spanOf } from '../lazy/soci/read-ztoc.js';
export {
  decodeZtoc,
  encodeZtoc,
  type ZtocFields,
  type ZtocFileMetadata,
} from '../lazy/soci/ztoc-flatbuffers.js';
export { parseSize } from '../util/parse-size.js';
