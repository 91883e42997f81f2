/**
 * `ocipeek/tar`: the tar reader and writer, tar names as bytes, and layer decompression.
 *
 * @packageDocumentation
 */

export type { DecompressOptions } from '../compression/decompress.js';
export { type Compression, decompressStream, detectCompression } from '../compression/index.js';
export {
  decodeName,
  encodeName,
  encodeTarHeader,
  escapeName,
  type PackTarOptions,
  packTar,
  type ReadTarOptions,
  readTar,
  readTarEntries,
  scanTarEntries,
  type TarEntry,
  type TarHeaderFields,
  type TarRecord,
  type TarWriteEntry,
  unescapeName,
} from '../tar/index.js';
export type { TarEntryType } from '../tar/types.js';
export type { BodySink, SinkSource } from '../transport/body-sink.js';
