/**
 * `ocipeek/convert`: rewriting an image's layers as eStargz.
 *
 * @packageDocumentation
 */

export type { ConvertedLayer } from '../convert/convert-image.js';
export {
  type ConvertResult,
  type ConvertToEstargzOptions,
  convertToEstargz,
} from '../convert/index.js';
