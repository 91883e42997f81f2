/**
 * `ocipeek/server`: the distribution-API server (`ocipeek serve`) over OCI layouts
 * (read-only) or a {@link RegistryStorage} (read-write: the ocipeek store).
 *
 * @packageDocumentation
 */

export {
  type AccessOptions,
  Gatekeeper,
  type Identity,
} from '../server/registry/access/gatekeeper.js';
export { Htpasswd } from '../server/registry/access/htpasswd.js';
export {
  type AccessRule,
  AccessRules,
  type Action,
  type Principal,
} from '../server/registry/access/rules.js';
export {
  readPublicKey,
  type TokenAccess,
  TokenIssuer,
  type TokenIssuerOptions,
  type TrustedIssuer,
  type VerifiedToken,
} from '../server/registry/access/tokens.js';
export {
  type AuthConfig,
  buildGatekeeper,
  loadRegistryConfig,
  type RegistryConfig,
  type TlsFiles,
} from '../server/registry/config-file.js';
export {
  type ServeOptions,
  serve,
  startRegistryServer,
} from '../server/registry/index.js';
export { Metrics } from '../server/registry/metrics.js';
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
