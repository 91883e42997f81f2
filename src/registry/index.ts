export {
  BlobCache,
  type BlobCacheOptions,
  type BlobCacheSource,
  type BlobCacheStore,
  type BlobFetch,
} from './blob-cache.js';
export {
  type BlobRange,
  type BlobRequestOptions,
  type BlobStream,
  type BlobTarget,
  parseContentRange,
} from './blobs.js';
export {
  type DeleteOptions,
  type DeleteTagResult,
  deleteManifest,
  deleteTag,
} from './delete.js';
export type { ImageToVerify, ImageTrust, LocalImageToVerify } from './image-trust.js';
export { type ListOptions, nextLink } from './listing.js';
export type { FetchedManifest, ManifestRequestOptions } from './manifests.js';
export { type ReferrersOptions, type ReferrersResult, referrersTag } from './referrers.js';
export { RegistryClient, type RegistryClientOptions } from './registry-client.js';
export {
  RegistryDestination,
  type RegistryDestinationOptions,
  RegistrySource,
  type RegistrySourceOptions,
} from './registry-place.js';
export { CATALOG_SCOPE, deleteScope, pullScope, pushScope } from './scopes.js';
export {
  hasBlob,
  type MountResult,
  mountBlob,
  putManifest,
  startUpload,
  type UploadBlobOptions,
  type UploadRequestOptions,
  type UploadSession,
  uploadBlob,
} from './upload.js';
