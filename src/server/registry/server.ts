import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RegistryBackend } from './backend.js';
import { discoverLayouts } from './discover-layouts.js';
import {
  handleBase,
  handleBlob,
  handleCatalog,
  handleManifest,
  handleReferrers,
  handleTags,
} from './handlers.js';
import { RegistryHttpError, sendError, toHttpError } from './http-errors.js';
import { LayoutBackend } from './layout-backend.js';
import { parseListenAddress } from './listen-address.js';
import { Router } from './router.js';

/** Options of {@link startRegistryServer}. */
export interface StartRegistryServerOptions {
  /** OCI image layout directories, or directories holding layouts (see `discoverLayouts`). */
  roots: string[] | string;
  /** `host:port` to listen on (default `127.0.0.1:0`, a free loopback port). */
  listen?: string;
  /** Repository name for a root that is itself a layout (default: the directory's name). */
  name?: string;
  /** Closes the server when aborted. */
  signal?: AbortSignal;
  /** Receives one line per request and per skipped directory. */
  log?: (line: string) => void;
}

/** A running registry server. */
export interface RunningRegistryServer {
  /** `http://host:port`, with an IPv6 host in brackets. */
  url: string;
  host: string;
  port: number;
  /** Stop listening, drop open connections and wait until the server is closed. */
  close(): Promise<void>;
  /** `close`, for `await using server = await startRegistryServer(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const READ = ['GET', 'HEAD'] as const;
const NAME = '(?<name>[^?#]+?)';

/** The distribution API routes, over whatever backend the request context carries. */
export function createRegistryRouter(): Router {
  return new Router()
    .add(READ, /^\/v2\/?$/, handleBase)
    .add(READ, /^\/v2\/_catalog$/, handleCatalog)
    .add(READ, new RegExp(`^/v2/${NAME}/tags/list$`), handleTags)
    .add(READ, new RegExp(`^/v2/${NAME}/manifests/(?<reference>[^/]+)$`), handleManifest)
    .add(READ, new RegExp(`^/v2/${NAME}/blobs/(?<digest>[^/]+)$`), handleBlob)
    .add(READ, new RegExp(`^/v2/${NAME}/referrers/(?<digest>[^/]+)$`), handleReferrers);
}

/**
 * Build the request listener for `backend`. Read-only: any method but GET and HEAD is
 * answered 405 `UNSUPPORTED` (with `Allow`), whatever the path.
 */
export function createRegistryHandler(
  backend: RegistryBackend,
  log?: (line: string) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  const router = createRegistryRouter();
  return (req, res) => {
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
      log?.(`${req.method} ${req.url} ${res.statusCode}`);
    });
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
    const method = req.method ?? 'GET';
    const run = async () => {
      if (method !== 'GET' && method !== 'HEAD') {
        throw new RegistryHttpError(
          405,
          'UNSUPPORTED',
          `${method} is not supported: this registry is read-only`,
          { Allow: 'GET, HEAD' },
        );
      }
      const match = router.match(method, path);
      if (match.kind !== 'found') {
        throw new RegistryHttpError(404, 'NOT_FOUND', `no such endpoint: ${path}`);
      }
      await match.handler({
        req,
        res,
        path,
        query,
        params: match.params,
        signal: controller.signal,
        backend,
      });
    };
    run().catch((err: unknown) => {
      if (res.headersSent) {
        log?.(`${method} ${url}: failed mid-answer: ${err instanceof Error ? err.message : err}`);
        res.destroy(err instanceof Error ? err : undefined);
        return;
      }
      const httpError = toHttpError(err);
      if (httpError.status >= 500) log?.(`${method} ${url}: ${httpError.message}`);
      sendError(res, httpError);
    });
  };
}

/**
 * Serve OCI image layouts read-only over the OCI distribution API on `node:http`:
 * `/v2/`, manifests, blobs (with ranges), tags and catalog (paginated) and referrers.
 * Each layout is one repository (see {@link StartRegistryServerOptions.roots}).
 */
export async function startRegistryServer(
  options: StartRegistryServerOptions,
): Promise<RunningRegistryServer> {
  const roots = Array.isArray(options.roots) ? options.roots : [options.roots];
  const { host, port } = parseListenAddress(options.listen ?? '127.0.0.1:0');
  options.signal?.throwIfAborted();
  const layouts = await discoverLayouts(roots, {
    name: options.name,
    signal: options.signal,
    log: options.log,
  });
  const backend: RegistryBackend = new LayoutBackend(layouts, { log: options.log });
  const server = createServer(createRegistryHandler(backend, options.log));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }).then(() => backend.close?.());
    return closing;
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  const urlHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}`,
    host: address.address,
    port: address.port,
    close,
    [Symbol.asyncDispose]: close,
  };
}
