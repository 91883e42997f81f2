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
  type CopyProgress,
  type CopyResult,
  copyImage,
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
  inspectImage,
  LayerIndexCache,
  type LayerSummary,
  type OpenImageFileOptions,
  openImageFile,
  type PlatformEntry,
  scanLayer,
} from './image/index.js';
export {
  IMAGE_NAME_ANNOTATION,
  type LayoutRef,
  LayoutSource,
  type LayoutSourceOptions,
  OciLayout,
} from './layout/index.js';
export {
  type BlobRangeSource,
  type LazyFormat,
  type LazyImage,
  type LazyLayer,
  lazyFormatOf,
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
  type OpenPlaceImageOptions,
  type OpenPlaceOptions,
  openDestination,
  openPlaceImage,
  openPlaceSource,
  openSource,
} from './places/index.js';
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
  type ManifestRequestOptions,
  type ReferrersOptions,
  type ReferrersResult,
  RegistryClient,
  type RegistryClientOptions,
  RegistryDestination,
  type RegistryDestinationOptions,
  RegistrySource,
  referrersTag,
} from './registry/index.js';
export {
  type RegistryBackend,
  type ServeOptions,
  serve,
  startRegistryServer,
} from './server/registry/index.js';
export {
  type BlobRole,
  formatPlace,
  type ImageDestination,
  type ImageLayer,
  type ImageSource,
  type LayerOpenOptions,
  type ManifestBytes,
  type OpenedImage,
  type OpenImageOptions,
  type OpenSourceBlobOptions,
  openImage,
  type ParsedManifest,
  type Place,
  type PlaceKind,
  type PutBlobOptions,
  type PutManifestOptions,
  parsePlace,
  type RegistryLocation,
  type ResolvedImage,
  type ResolveImageOptions,
  resolveImage,
  type SourceCallOptions,
  sourceName,
} from './source/index.js';
export {
  defaultStorePath,
  type LayoutNaming,
  type PullOptions,
  type PullPolicy,
  type PullResult,
  pullImage,
  Store,
  StoreDestination,
  type StoredImage,
  storeSource,
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
  checkConcurrency,
  mapPool,
  type PoolTask,
  TaskPool,
  type TaskPoolOptions,
} from './util/task-pool.js';
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
