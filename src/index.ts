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
export { type Compression, decompressStream, detectCompression } from './compression/index.js';
export {
  type ConvertResult,
  type ConvertToEstargzOptions,
  convertToEstargz,
} from './convert/index.js';
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
} from './copy/index.js';
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
  diffTrees,
  type EntryJson,
  type EntryView,
  type FsEntry,
  type ImageEfficiency,
  ImageFilesystem,
  type ImageFilesystemOptions,
  type LayerStats,
  type TreeDiff,
  toEntryJson,
} from './fs/index.js';
export {
  type BuildFilesystemOptions,
  type BuiltFilesystem,
  buildFilesystem,
  type HistoryStep,
  historySteps,
  type ImageInspection,
  type ImageLayer,
  inspectImage,
  LayerIndexCache,
  type LayerOpenOptions,
  type LayerSummary,
  type OpenedImage,
  type OpenImageFileOptions,
  type OpenImageOptions,
  openImage,
  openImageFile,
  type PlatformEntry,
  type ResolvedImage,
  type ResolveImageOptions,
  resolveImage,
  scanLayer,
} from './image/index.js';
export { type LayoutRef, OciLayout } from './layout/index.js';
export {
  type BlobRangeSource,
  type LazyFormat,
  type LazyImage,
  type LazyLayer,
  lazyFormatOf,
  openLazyFile,
  openLazyImage,
  openLazyLayer,
  registryRangeSource,
  storeRangeSource,
} from './lazy/index.js';
export { type ImagePeekResult, type PeekImageOptions, peekImage } from './lazy/peek-image.js';
export {
  type PeekEntry,
  type PeekEvent,
  type PeekLayerOptions,
  peekBlob,
  peekLayer,
} from './lazy/peek-layer.js';
export { parseSize } from './lazy/peek-size.js';
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
  type BlobStream,
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
  defaultStorePath,
  type PullOptions,
  type PullPolicy,
  type PullResult,
  pullImage,
  Store,
  type StoredImage,
} from './store/index.js';
export {
  decodeName,
  encodeName,
  encodeTarHeader,
  escapeName,
  type PackTarOptions,
  packTar,
  type ReadTarOptions,
  readTar,
  readTarEntries,
  scanTarEntries,
  type TarEntry,
  type TarHeaderFields,
  type TarRecord,
  type TarWriteEntry,
  unescapeName,
} from './tar/index.js';
export {
  type BodySink,
  isLoopbackRegistry,
  type RegistryRequest,
  type RegistryResponse,
  RegistryTransport,
  type RetryOptions,
  type TlsOptions,
  TransferStats,
  type TransportOptions,
} from './transport/index.js';
export { type UnpackOptions, type UnpackResult, unpackLayers } from './unpack/index.js';
export {
  type ArtifactType,
  detectArtifactType,
  inspectWasm,
  isPreview1,
  isPreview2,
  pullWasm,
  pushWasm,
  targetTriple,
  type WasiVersion,
  type WasmArtifactInfo,
} from './wasm/index.js';
