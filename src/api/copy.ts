/**
 * `ocipeek/copy`: places (`docker://`, `oci:`, `oci-archive:`, `docker-archive:`,
 * `store:`) and copying images between them.
 *
 * @packageDocumentation
 */

export type { CopyProgress } from '../copy/copy-image.js';
export {
  type CopyImageOptions,
  type CopyResult,
  copyImage,
  type ImageDestination,
  type ImageSource,
  openDestination,
  openSource,
  type Place,
  parsePlace,
} from '../copy/index.js';
export type { OpenPlaceOptions } from '../copy/open-place.js';
export type {
  BlobRole,
  ManifestBytes,
  PutBlobOptions,
  PutManifestOptions,
  RegistryLocation,
  SourceCallOptions,
} from '../copy/types.js';
