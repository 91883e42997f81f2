export type {
  BackendBlob,
  BackendBlobOptions,
  BackendByteRange,
  BackendCallOptions,
  RegistryBackend,
  StoredManifest,
} from './backend.js';
export { type DiscoverLayoutsOptions, discoverLayouts } from './discover-layouts.js';
export { LayoutBackend } from './layout-backend.js';
export { type ListenAddress, parseListenAddress } from './listen-address.js';
export { type ServeOptions, serve } from './serve.js';
export {
  createRegistryHandler,
  type RunningRegistryServer,
  type StartRegistryServerOptions,
  startRegistryServer,
} from './server.js';
export { DEFAULT_VERIFIED_BLOBS, VerifiedBlobs } from './verified-blobs.js';
