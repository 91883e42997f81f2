export { MAX_MANIFEST_BYTES } from './limits.js';
export {
  isForeignLayer,
  isImageManifestMediaType,
  isIndexMediaType,
  isLayerMediaType,
  isSchema1MediaType,
  type LayerCompression,
  layerCompression,
  MANIFEST_ACCEPT,
  MediaType,
  TITLE_ANNOTATION,
} from './media-types.js';
export { isIndex, manifestMediaType, parseImageConfig, parseManifest } from './parse.js';
export type {
  ContainerConfig,
  Descriptor,
  HistoryEntry,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  Manifest,
  Platform,
} from './types.js';
