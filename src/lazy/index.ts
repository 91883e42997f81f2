export { type OpenChunkedFileOptions, openChunkedFile, readChunkedFile } from './chunked-file.js';
export {
  ESTARGZ_TOC_DIGEST_ANNOTATION,
  ESTARGZ_TOC_NAME,
  ESTARGZ_UNCOMPRESSED_SIZE_ANNOTATION,
  NO_PREFETCH_LANDMARK,
  PREFETCH_LANDMARK,
} from './estargz/constants.js';
export { estargzFooter, parseEstargzFooter } from './estargz/footer.js';
export { type OpenEstargzOptions, openEstargzLayer } from './estargz/open-estargz.js';
export { inflatePrefix, type MemberCompression } from './inflate-prefix.js';
export type { LazyChunk, LazyEntry, PrefetchInfo } from './lazy-entry.js';
export {
  type LazyImage,
  type OpenLazyImageOptions,
  openLazyFile,
  openLazyImage,
} from './lazy-image.js';
export {
  type LazyFormat,
  type LazyLayer,
  type LazyOpenOptions,
  lazyFormatOf,
  type OpenLazyLayerOptions,
  openLazyLayer,
  type ParsedToc,
} from './lazy-layer.js';
export {
  type BlobRangeSource,
  bufferRangeSource,
  type RangeReadOptions,
  type RangeSourceOptions,
  type RegistryRangeSourceOptions,
  registryRangeSource,
  type StoreRangeSourceOptions,
  storeRangeSource,
} from './range-source.js';
export {
  type BuildLayerSeekIndexOptions,
  type BuiltLayerSeekIndex,
  buildLayerSeekIndex,
} from './seek-index/build-layer-index.js';
export {
  type BuildSeekIndexOptions,
  type BuiltSeekIndex,
  buildSeekIndex,
  writeSeekIndex,
} from './seek-index/build-seek-index.js';
export {
  type FindSeekIndexOptions,
  findSeekIndex,
  type ImageSeekIndex,
  NO_INDEX_TTL_MS,
} from './seek-index/find-seek-index.js';
export type { InflateEngine } from './seek-index/raw-inflate.js';
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
} from './seek-index/seek-index-format.js';
export { SpanRecords } from './seek-index/span-records.js';
export {
  type BuildSociIndexOptions,
  type BuiltSociIndex,
  buildSociIndex,
  DEFAULT_SOCI_MIN_LAYER_SIZE,
  SOCI_ANNOTATIONS,
  SOCI_INDEX_ARTIFACT_TYPE,
  SOCI_ZTOC_MEDIA_TYPE,
  writeSociIndex,
} from './soci/build-soci-index.js';
export {
  type BuildLayerZtocOptions,
  type BuiltZtoc,
  buildLayerZtoc,
  DEFAULT_SOCI_SPAN,
  ZTOC_VERSION,
} from './soci/build-ztoc.js';
export {
  decodeGzipZinfo,
  encodeGzipZinfo,
  type GzipZinfo,
  type ZinfoCheckpoint,
} from './soci/gzip-zinfo.js';
export { type ParsedZtoc, parseZtoc, readZtocRange, spanOf } from './soci/read-ztoc.js';
export {
  decodeZtoc,
  encodeZtoc,
  type ZtocFields,
  type ZtocFileMetadata,
} from './soci/ztoc-flatbuffers.js';
export type { TocJson, TocJsonEntry } from './toc-json.js';
export {
  ZSTD_CHUNKED_CHECKSUM_ANNOTATIONS,
  ZSTD_CHUNKED_POSITION_ANNOTATIONS,
} from './zstd-chunked/constants.js';
export {
  parsePositionAnnotation,
  parseZstdChunkedFooter,
  type ZstdChunkedPosition,
  zstdChunkedFooter,
} from './zstd-chunked/footer.js';
export {
  type OpenZstdChunkedOptions,
  openZstdChunkedLayer,
} from './zstd-chunked/open-zstd-chunked.js';
