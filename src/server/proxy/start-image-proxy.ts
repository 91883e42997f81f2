import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { InvalidArgumentError } from '../../errors/index.js';
import type { Platform } from '../../media/index.js';
import { RegistryClient } from '../../registry/index.js';
import { type HttpProxyEnd, serveHttpProxy } from './http-proxy.js';
import { checkImageName, openProxySource } from './image-source-adapter.js';
import { JsonProxyHandler } from './json-proxy-handler.js';
import { type JsonProxyEnd, serveJsonProxy } from './json-proxy-server.js';
import { ProxyImage } from './proxy-image.js';

/** The two image proxy protocols. */
export type ImageProxyProtocol =
  /** container-image-proxy: HTTP/1.1 on a stream connection, one image. */
  | 'http'
  /** skopeo's experimental-image-proxy: JSON on a SOCK_SEQPACKET socket, pipes by SCM_RIGHTS. */
  | 'json';

/** Options of {@link startImageProxy}. */
export interface StartImageProxyOptions {
  /** Which protocol the client speaks. */
  protocol: ImageProxyProtocol;
  /**
   * `http`: the image to serve, `TRANSPORT:REF` (`docker://host/repo:tag`, `oci:DIR[:TAG]`,
   * `oci-archive:FILE[:TAG]`, `docker-archive:FILE`, `store:REF`). The JSON protocol's
   * client names images itself (`OpenImage`).
   */
  image?: string;
  /** `http`: the connection to serve (a socket, or any duplex such as stdin + stdout). */
  socket?: Duplex;
  /**
   * A file descriptor to serve: a stream socket for `http`, a SOCK_SEQPACKET socket for
   * `json`. The proxy owns it and closes it when it stops.
   */
  fd?: number;
  /** The registry client (auth, TLS, timeouts); a default one is made and closed otherwise. */
  client?: RegistryClient;
  /** The platform an index resolves to (default: this host's). */
  platform?: Platform;
  /** The store folder for `store:` images. */
  storeDir?: string;
  /** One line per request (and reply, for `json`): skopeo's `--debug`. */
  log?: (line: string) => void;
}

/** A running image proxy. */
export interface ImageProxy {
  /**
   * Settles when the proxy stopped: `quit` (`POST /quit`), `shutdown` (`Shutdown`) or
   * `end` (the client closed its end). Rejects on a failure that closed the connection.
   */
  readonly done: Promise<HttpProxyEnd | JsonProxyEnd>;
  /** Stop serving (pending transfers are aborted) and wait for {@link done} to settle. */
  close(): Promise<void>;
}

/**
 * Serve an image to a client over a socket it handed over, in either protocol that
 * programs not written in Go use to fetch images (ostree/bootc, containers-image-proxy-rs):
 * container-image-proxy's HTTP (`protocol: 'http'`) or skopeo's experimental-image-proxy
 * JSON (`protocol: 'json'`). The `ocipeek proxy` and `ocipeek experimental-image-proxy`
 * commands are this function on an inherited fd.
 *
 * @example
 * ```ts
 * const proxy = startImageProxy({ protocol: 'json', fd: 3 });
 * console.log(await proxy.done); // 'shutdown'
 * ```
 */
export function startImageProxy(options: StartImageProxyOptions): ImageProxy {
  checkOptions(options);
  const client = options.client ?? new RegistryClient();
  const ownClient = options.client === undefined;
  const controller = new AbortController();
  const openImage = async (name: string) =>
    new ProxyImage(
      await openProxySource(name, {
        client,
        storeDir: options.storeDir,
        signal: controller.signal,
      }),
      options.platform,
    );

  let served: Promise<HttpProxyEnd | JsonProxyEnd>;
  if (options.protocol === 'json') {
    served = serveJsonProxy(options.fd!, new JsonProxyHandler({ openImage }), {
      signal: controller.signal,
      log: options.log,
    });
  } else {
    const image = options.image!;
    // Half-open: a client that closes its sending side still gets its answers.
    const connection =
      options.socket ??
      new Socket({ fd: options.fd, readable: true, writable: true, allowHalfOpen: true });
    controller.signal.addEventListener('abort', () => connection.destroy(), { once: true });
    let opened: Promise<ProxyImage> | undefined;
    served = serveHttpProxy(connection, {
      // Opened on first use; a failure answers that request and the next one tries again.
      image: () => {
        opened ??= openImage(image).catch((err: unknown) => {
          opened = undefined;
          throw err;
        });
        return opened;
      },
      log: options.log,
    }).finally(() => opened?.then((img) => img.close()).catch(() => {}));
  }
  const done = served.finally(() => (ownClient ? client.close() : undefined));
  return {
    done,
    async close() {
      controller.abort();
      await done.catch(() => {});
    },
  };
}

/** Refuse options that cannot work, before anything is opened. */
function checkOptions(options: StartImageProxyOptions): void {
  if (options.protocol === 'json') {
    if (options.fd === undefined) throw new InvalidArgumentError('the JSON protocol serves an fd');
    return;
  }
  if (options.protocol !== 'http') {
    throw new InvalidArgumentError(`unknown image proxy protocol ${String(options.protocol)}`);
  }
  if (!options.image)
    throw new InvalidArgumentError('the HTTP image proxy needs an IMAGE to serve');
  checkImageName(options.image);
  if ((options.socket === undefined) === (options.fd === undefined)) {
    throw new InvalidArgumentError('the HTTP image proxy serves a socket or an fd (one of them)');
  }
}
