/**
 * `ocipeek/server`: the distribution-API server (`ocipeek serve`) over OCI layouts
 * (read-only) or a {@link RegistryStorage} (read-write: the ocipeek store).
 *
 * @packageDocumentation
 */

export {
  type ServeOptions,
  serve,
  startRegistryServer,
} from '../server/registry/index.js';
export type {
  RunningRegistryServer,
  StartRegistryServerOptions,
} from '../server/registry/server.js';
export {
  type BackendBlob,
  type BackendBlobOptions,
  type BackendByteRange,
  type BackendCallOptions,
  type CollectGarbageOptions,
  type CollectGarbageResult,
  isWritable,
  type ManifestWrite,
  type RegistryBackend,
  type RegistryStorage,
  type StoragePutBlobOptions,
  type StoredBlob,
  type StoredManifest,
  type UploadChunkOptions,
  type UploadState,
} from '../server/storage/registry-storage.js';
export { RegistryStorageError, type StorageProblem } from '../server/storage/storage-error.js';
export { StoreStorage, type StoreStorageOptions } from '../server/storage/store-storage.js';
