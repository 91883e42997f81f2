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
