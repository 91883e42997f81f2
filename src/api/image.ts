/**
 * `ocipeek/image`: what an image is, wherever it is: places (registry, store, OCI layout,
 * archives) as image sources, resolution and platform choice, inspection, history, and
 * opening its layers.
 *
 * @packageDocumentation
 */

// Each from its own file, not the image/ barrel, which would load the filesystem view.
export {
  type CheckImageOptions,
  type CheckImageResult,
  checkImage,
  type ImageProblem,
} from '../image/check-image.js';
export { type HistoryStep, historySteps } from '../image/history.js';
export {
  type ImageInspection,
  inspectImage,
  type LayerSummary,
  type PlatformEntry,
} from '../image/inspect-image.js';
export {
  type OpenPlaceOptions,
  openDestination,
  openSource,
} from '../places/open-place.js';
export {
  type OpenPlaceImageOptions,
  openPlaceImage,
  openPlaceSource,
  type SourceChoice,
} from '../places/open-place-image.js';
export type { ImageLayer, LayerOpenOptions } from '../source/image-layer.js';
export { type OpenedImage, type OpenImageOptions, openImage } from '../source/open-image.js';
export { formatPlace, type Place, parsePlace } from '../source/place.js';
export {
  type ParsedManifest,
  type ResolvedImage,
  type ResolveImageOptions,
  resolveImage,
} from '../source/resolve-image.js';
export { sourceName } from '../source/source-name.js';
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
} from '../source/types.js';
