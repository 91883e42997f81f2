export { type DecompressOptions, decompressIntoRooms, decompressStream } from './decompress.js';
export { DecompressionLimit } from './decompression-limit.js';
export {
  type Compression,
  compressionOfMediaType,
  detectCompression,
  MAGIC_LENGTH,
} from './detect.js';
export { GzipRooms } from './gzip-rooms.js';
export { OutputRooms } from './output-rooms.js';
export {
  createZstdDecompressor,
  defaultZstdDecoder,
  type ZstdDecoderKind,
  type ZstdDecompressorOptions,
} from './zstd-decompressor.js';
