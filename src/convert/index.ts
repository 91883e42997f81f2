export {
  type ConvertFormatOptions,
  type ConvertFormatResult,
  convertImageFormat,
  type ManifestFormat,
} from './convert-format.js';
export {
  type ConvertedLayer,
  type ConvertResult,
  type ConvertToEstargzOptions,
  convertToEstargz,
} from './convert-image.js';
export {
  type EstargzLayerResult,
  type WriteEstargzOptions,
  writeEstargzLayer,
} from './estargz-writer.js';
export {
  type LayerCompressionFormat,
  type RecompressedBlob,
  type RecompressOptions,
  recompressBlob,
} from './recompress-blob.js';
export {
  type WriteZstdChunkedOptions,
  writeZstdChunkedLayer,
  type ZstdChunkedLayerResult,
} from './zstd-chunked/zstd-chunked-writer.js';
