/**
 * `ocipeek/proxy`: the image proxy, serving images to a client over a socket it hands over
 * in container-image-proxy's HTTP protocol or skopeo's experimental-image-proxy JSON
 * protocol (`ocipeek proxy`, `ocipeek experimental-image-proxy`).
 *
 * @packageDocumentation
 */

export type { HttpProxyEnd } from '../server/proxy/http-proxy.js';
export type { JsonProxyEnd } from '../server/proxy/json-proxy-server.js';
export {
  type ImageProxy,
  type ImageProxyProtocol,
  type StartImageProxyOptions,
  startImageProxy,
} from '../server/proxy/start-image-proxy.js';
