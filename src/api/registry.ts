/**
 * `ocipeek/registry`: references, credentials, the request chain and the distribution-API
 * client. Importing it loads nothing of the store, the filesystem view, unpack or the
 * servers.
 *
 * @packageDocumentation
 */

export type { AuthFileLocationOptions } from '../auth/auth-file.js';
export type {
  Authenticator,
  AuthenticatorOptions,
  AuthorizeOptions,
} from '../auth/authenticator.js';
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
} from '../auth/index.js';
export type { KeychainResolveOptions } from '../auth/keychain.js';
export type { LoginOptions, LogoutOptions } from '../auth/login.js';
export type { HeaderValue } from '../auth/redact.js';
export type { TokenFetcher, TokenRequestInit, TokenResponse } from '../auth/token-request.js';
// registries.conf and the trust policy are values of `ocipeek/trust`; the client only
// names their types, so this entry does not load the TOML parser or the crypto.
export type { PullSource, RegistriesConf } from '../containers-conf/registries-conf.js';
export type {
  PullFromMirror,
  RegistryEndpoint,
  RegistryEntry,
  ShortNameAlias,
  ShortNameMode,
} from '../containers-conf/registries-conf-file.js';
export {
  createDigester,
  type DigestAlgorithm,
  digestOf,
  isDigest,
  type ParsedDigest,
  parseDigest,
  VerifyingStream,
  type VerifyOptions,
} from '../digest/index.js';
export * from '../media/index.js';
export {
  choosePlatform,
  formatPlatform,
  hostPlatform,
  isAttestationEntry,
  listPlatforms,
  normalizePlatform,
  parsePlatform,
  platformEquals,
  requirePlatform,
} from '../platform/index.js';
export type { TokenProvider } from '../ratls/ra-tls-credentials.js';
export { tokenFile } from '../ratls/token-file.js';
export {
  DOCKER_HUB,
  DOCKER_HUB_API_HOST,
  type ParseReferenceOptions,
  parseReference,
  parseRepository,
  Reference,
  registryApiHost,
} from '../ref/index.js';
export type { ImageToVerify, ImageTrust, LocalImageToVerify } from '../registry/image-trust.js';
export {
  BlobCache,
  type BlobCacheOptions,
  type BlobCacheSource,
  type BlobCacheStore,
  type BlobFetch,
  type BlobRange,
  type BlobRequestOptions,
  type BlobStream,
  type BlobTarget,
  type DeleteOptions,
  type DeleteTagResult,
  type FetchedManifest,
  type ListOptions,
  type ManifestRequestOptions,
  type ReferrersOptions,
  type ReferrersResult,
  RegistryClient,
  type RegistryClientOptions,
  RegistryDestination,
  type RegistryDestinationOptions,
  RegistrySource,
  type RegistrySourceOptions,
  referrersTag,
} from '../registry/index.js';
export type {
  MountResult,
  UploadBlobOptions,
  UploadRequestOptions,
  UploadSession,
} from '../registry/upload.js';
export type { SinkSource } from '../transport/body-sink.js';
export {
  type BodySink,
  type ConnectionMode,
  isLoopbackRegistry,
  type RegistryAccess,
  type RegistryRequest,
  type RegistryResponse,
  RegistryTransport,
  type RetryOptions,
  type TlsOptions,
  TransferStats,
  type TransportOptions,
} from '../transport/index.js';
