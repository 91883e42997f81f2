export type { ImageLayer, LayerOpenOptions } from './image-layer.js';
export { type OpenedImage, type OpenImageOptions, openImage } from './open-image.js';
export { formatPlace, type Place, parsePlace } from './place.js';
export {
  type ParsedManifest,
  type ResolvedImage,
  type ResolveImageOptions,
  resolveImage,
} from './resolve-image.js';
export { sourceName } from './source-name.js';
export type {
  BlobRole,
  ImageDestination,
  ImageSource,
  ManifestBytes,
  OpenSourceBlobOptions,
  PlaceKind,
  PutBlobOptions,
  PutManifestOptions,
  RegistryLocation,
  SourceCallOptions,
} from './types.js';
