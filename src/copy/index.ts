export {
  type CopyImageOptions,
  type CopyProgress,
  type CopyResult,
  copyImage,
} from './copy-image.js';
export { IMAGE_NAME_ANNOTATION, LayoutSource, type LayoutSourceOptions } from './layout-source.js';
export { type OpenPlaceOptions, openDestination, openSource } from './open-place.js';
export { formatPlace, type Place, parsePlace } from './place.js';
export {
  RegistryDestination,
  type RegistryDestinationOptions,
  RegistrySource,
} from './registry-place.js';
export { rewriteIndex, selectEntries } from './select-platforms.js';
export { type LayoutNaming, StoreDestination } from './store-destination.js';
export type {
  BlobRole,
  ImageDestination,
  ImageSource,
  ManifestBytes,
  PutBlobOptions,
  PutManifestOptions,
  RegistryLocation,
  SourceCallOptions,
} from './types.js';
