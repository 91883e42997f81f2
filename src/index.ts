/**
 * ocipeek: pull, inspect, list, read and serve OCI container images from Node, without a
 * container runtime. This module is the public API; everything exported here is
 * documented and typed.
 *
 * @packageDocumentation
 */

export {
  type AuthChallenge,
  type CredentialSource,
  type Credentials,
  Keychain,
  type KeychainOptions,
  login,
  logout,
  parseWwwAuthenticate,
  redactHeaders,
  redactUrl,
} from './auth/index.js';
export {
  createDigester,
  type DigestAlgorithm,
  digestOf,
  isDigest,
  type ParsedDigest,
  parseDigest,
  VerifyingStream,
  type VerifyOptions,
} from './digest/index.js';
export * from './errors/index.js';
export {
  EXAMPLE_REPOSITORY,
  EXAMPLE_TAGS,
  type ExampleLayoutResult,
  writeExampleLayout,
} from './example/index.js';
export {
  type HistoryStep,
  historySteps,
  type ImageInspection,
  inspectImage,
  type LayerSummary,
  type PlatformEntry,
  type ResolvedImage,
  type ResolveImageOptions,
  resolveImage,
} from './image/index.js';
export { type LayoutRef, OciLayout } from './layout/index.js';
export * from './media/index.js';
export {
  choosePlatform,
  formatPlatform,
  hostPlatform,
  isAttestationEntry,
  listPlatforms,
  normalizePlatform,
  parsePlatform,
  platformEquals,
} from './platform/index.js';
export {
  DOCKER_HUB,
  DOCKER_HUB_API_HOST,
  type ParseReferenceOptions,
  parseReference,
  parseRepository,
  Reference,
  registryApiHost,
} from './ref/index.js';
export {
  type BlobRange,
  type BlobRequestOptions,
  type BlobTarget,
  type FetchedManifest,
  type ListOptions,
  MAX_MANIFEST_BYTES,
  type ManifestRequestOptions,
  type ReferrersOptions,
  type ReferrersResult,
  RegistryClient,
  type RegistryClientOptions,
  referrersTag,
} from './registry/index.js';
export {
  type RegistryBackend,
  type ServeOptions,
  serve,
  startRegistryServer,
} from './server/registry/index.js';
export {
  isLoopbackRegistry,
  type RegistryRequest,
  type RegistryResponse,
  RegistryTransport,
  type RetryOptions,
  type TlsOptions,
  TransferStats,
  type TransportOptions,
} from './transport/index.js';
