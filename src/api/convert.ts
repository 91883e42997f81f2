/**
 * `ocipeek/convert`: rewriting an image's layers as eStargz, recompressing them (gzip,
 * zstd) and converting between OCI and Docker schema 2.
 *
 * @packageDocumentation
 */

export type { ConvertedLayer } from '../convert/convert-image.js';
export {
  type ConvertFormatOptions,
  type ConvertFormatResult,
  type ConvertResult,
  type ConvertToEstargzOptions,
  convertImageFormat,
  convertToEstargz,
  type LayerCompressionFormat,
  type ManifestFormat,
  type RecompressedBlob,
  type RecompressOptions,
  recompressBlob,
} from '../convert/index.js';
