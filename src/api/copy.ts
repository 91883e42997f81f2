/**
 * `ocipeek/copy`: places (`docker://`, `oci:`, `oci-archive:`, `docker-archive:`,
 * `store:`) and copying images between them.
 *
 * @packageDocumentation
 */

export {
  type CopyImageOptions,
  type CopyProgress,
  type CopyResult,
  copyImage,
} from '../copy/index.js';
// The places are `ocipeek/image`'s too: re-exported here so a copy needs one import.
export {
  type OpenPlaceOptions,
  openDestination,
  openSource,
} from '../places/open-place.js';
export { formatPlace, type Place, parsePlace } from '../source/place.js';
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
