export { type OpenPlaceOptions, openDestination, openSource } from './open-place.js';
export {
  type OpenPlaceImageOptions,
  openPlaceImage,
  openPlaceSource,
  type SourceChoice,
} from './open-place-image.js';
export { placeCandidates, resolvePlaceReference } from './resolve-place-reference.js';
