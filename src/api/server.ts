/**
 * `ocipeek/server`: the distribution-API server over OCI layouts (`ocipeek serve`).
 *
 * @packageDocumentation
 */

export type {
  BackendBlob,
  BackendBlobOptions,
  BackendByteRange,
  BackendCallOptions,
  StoredManifest,
} from '../server/registry/backend.js';
export {
  type RegistryBackend,
  type ServeOptions,
  serve,
  startRegistryServer,
} from '../server/registry/index.js';
export type {
  RunningRegistryServer,
  StartRegistryServerOptions,
} from '../server/registry/server.js';
