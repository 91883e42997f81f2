export type { BodySink, SinkSource } from './body-sink.js';
export { discardBody } from './http-client.js';
export { isLoopbackRegistry, splitHostPort } from './loopback.js';
export {
  type ConnectionMode,
  headerValue,
  type RegistryAccess,
  type RegistryRequest,
  type RegistryResponse,
  RegistryTransport,
  type TransportOptions,
} from './registry-transport.js';
export type { RetryOptions } from './retry.js';
export type { TlsOptions } from './tls.js';
export { TransferStats } from './transfer-stats.js';
