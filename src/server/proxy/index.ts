export { type HttpProxyEnd, serveHttpProxy } from './http-proxy.js';
export { checkImageName } from './image-source-adapter.js';
export { JSON_PROXY_VERSION, JsonProxyHandler } from './json-proxy-handler.js';
export { type JsonProxyEnd, MAX_PACKET, serveJsonProxy } from './json-proxy-server.js';
export {
  type ImageProxy,
  type ImageProxyProtocol,
  type StartImageProxyOptions,
  startImageProxy,
} from './start-image-proxy.js';
