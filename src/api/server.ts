/**
 * `ocipeek/server`: the distribution-API server (`ocipeek serve`) over OCI layouts
 * (read-only), a {@link RegistryStorage} (read-write: the ocipeek store), or a
 * {@link PullThroughCache} of other registries.
 *
 * @packageDocumentation
 */

export { CacheCounters, type CacheResult } from '../server/cache/cache-counters.js';
export {
  type CachedImage,
  type CacheStats,
  cacheStats,
  type EvictOptions,
  type EvictResult,
  evictCached,
  listCachedImages,
} from '../server/cache/cache-inventory.js';
export { readUsage, type UsageLookup, type UsageTimes } from '../server/cache/cache-usage.js';
export {
  PullThroughCache,
  type PullThroughCacheOptions,
} from '../server/cache/pull-through-cache.js';
export { type Upstream, UpstreamMap, type UpstreamRoute } from '../server/cache/upstream-map.js';
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
  type StoredDocument,
  type StoredManifest,
  type UploadChunkOptions,
  type UploadState,
} from '../server/storage/registry-storage.js';
export { SessionUploads, type UploadSessions } from '../server/storage/session-uploads.js';
export { RegistryStorageError, type StorageProblem } from '../server/storage/storage-error.js';
export { StoreStorage, type StoreStorageOptions } from '../server/storage/store-storage.js';
export {
  type MemoryEntry,
  MemoryTier,
  type MemoryTierOptions,
} from '../util/memory-tier.js';
