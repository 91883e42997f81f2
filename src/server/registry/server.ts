import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError } from '../../errors/index.js';
import { isWritable, type RegistryBackend } from '../storage/registry-storage.js';
import { StoreStorage } from '../storage/store-storage.js';
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
import { Router, type ServerPolicy } from './router.js';
import {
  handleUploadCancel,
  handleUploadChunk,
  handleUploadComplete,
  handleUploadStart,
  handleUploadStatus,
} from './upload-handlers.js';
import { handleBlobDelete, handleManifestDelete, handleManifestPut } from './write-handlers.js';

/** Options of {@link startRegistryServer}. */
export interface StartRegistryServerOptions {
  /**
   * OCI image layout directories, or directories holding layouts (see `discoverLayouts`),
   * served read-only. Give this, `storageDir` or `storage`.
   */
  roots?: string[] | string;
  /** The ocipeek store to serve read-write (`--storage DIR`), created when missing. */
  storageDir?: string;
  /** A storage of the caller's (a pull-through cache, an S3 backend). */
  storage?: RegistryBackend;
  /** `host:port` to listen on (default `127.0.0.1:0`, a free loopback port). */
  listen?: string;
  /** Repository name for a root that is itself a layout (default: the directory's name). */
  name?: string;
  /** Refuse every write (405), even over a writable storage. */
  readOnly?: boolean;
  /** Refuse blobs larger than this many bytes (413). Default: no limit. */
  maxBlobBytes?: number;
  /** Accept pushes to repositories of other registries pulled into the store. */
  allowMirrorPush?: boolean;
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
const UPLOAD = new RegExp(`^/v2/${NAME}/blobs/uploads/(?<id>[^/]+)$`);

/** The distribution API routes, over whatever backend the request context carries. */
export function createRegistryRouter(): Router {
  return new Router()
    .add(READ, /^\/v2\/?$/, handleBase)
    .add(READ, /^\/v2\/_catalog$/, handleCatalog)
    .add(READ, new RegExp(`^/v2/${NAME}/tags/list$`), handleTags)
    .add(['POST'], new RegExp(`^/v2/${NAME}/blobs/uploads/?$`), handleUploadStart)
    .add(['GET'], UPLOAD, handleUploadStatus)
    .add(['PATCH'], UPLOAD, handleUploadChunk)
    .add(['PUT'], UPLOAD, handleUploadComplete)
    .add(['DELETE'], UPLOAD, handleUploadCancel)
    .add(READ, new RegExp(`^/v2/${NAME}/manifests/(?<reference>[^/]+)$`), handleManifest)
    .add(['PUT'], new RegExp(`^/v2/${NAME}/manifests/(?<reference>[^/]+)$`), handleManifestPut)
    .add(
      ['DELETE'],
      new RegExp(`^/v2/${NAME}/manifests/(?<reference>[^/]+)$`),
      handleManifestDelete,
    )
    .add(READ, new RegExp(`^/v2/${NAME}/blobs/(?<digest>[^/]+)$`), handleBlob)
    .add(['DELETE'], new RegExp(`^/v2/${NAME}/blobs/(?<digest>[^/]+)$`), handleBlobDelete)
    .add(READ, new RegExp(`^/v2/${NAME}/referrers/(?<digest>[^/]+)$`), handleReferrers);
}

/** Options of {@link createRegistryHandler}. */
export interface RegistryHandlerOptions {
  /** What the server allows (default: read-write when the backend can be written). */
  policy?: Partial<ServerPolicy>;
  /** Receives one line per request. */
  log?: (line: string) => void;
}

/**
 * Build the request listener for `backend`. Writes go through when the backend is a
 * writable {@link RegistryStorage} and the policy is not read-only; otherwise they are
 * answered 405 `UNSUPPORTED` (with `Allow: GET, HEAD`).
 */
export function createRegistryHandler(
  backend: RegistryBackend,
  options: RegistryHandlerOptions | ((line: string) => void) = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const { policy = {}, log } = typeof options === 'function' ? { log: options } : options;
  const config: ServerPolicy = {
    readOnly: policy.readOnly ?? false,
    maxBlobBytes: policy.maxBlobBytes,
    anonymousMount: policy.anonymousMount ?? true,
    allowMirrorPush: policy.allowMirrorPush ?? false,
  };
  const router = createRegistryRouter();
  const canPull = () => true;
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
      const match = router.match(method, path);
      if (match.kind === 'method-not-allowed') {
        const writable = isWritable(backend) && !config.readOnly;
        const allow = writable
          ? match.allow
          : match.allow.filter((m) => m === 'GET' || m === 'HEAD');
        throw new RegistryHttpError(
          405,
          'UNSUPPORTED',
          `${method} is not supported here${writable ? '' : ': this registry is read-only'}`,
          { Allow: allow.join(', ') },
        );
      }
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
        config,
        canPull,
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

/** The backend the options name: a storage given, the store at `storageDir`, or layouts. */
async function openBackend(options: StartRegistryServerOptions): Promise<RegistryBackend> {
  const given = [options.roots, options.storageDir, options.storage].filter((x) => x !== undefined);
  if (given.length !== 1) {
    throw new InvalidArgumentError('serve needs exactly one of --root, --storage (or a storage)');
  }
  if (options.storage) return options.storage;
  if (options.storageDir !== undefined) {
    return StoreStorage.open(options.storageDir, {
      log: options.log,
      maxBlobBytes: options.maxBlobBytes,
      signal: options.signal,
    });
  }
  const roots = Array.isArray(options.roots) ? options.roots : [options.roots as string];
  const layouts = await discoverLayouts(roots, {
    name: options.name,
    signal: options.signal,
    log: options.log,
  });
  return new LayoutBackend(layouts, { log: options.log });
}

/**
 * Serve the OCI distribution API on `node:http`: pulls (manifests, blobs with ranges,
 * tags and catalog paginated, referrers) from layouts (`roots`, read-only, each layout a
 * repository) or a storage (`storageDir`: the ocipeek store, read-write), and pushes,
 * deletes and mounts when the storage is writable.
 */
export async function startRegistryServer(
  options: StartRegistryServerOptions,
): Promise<RunningRegistryServer> {
  const { host, port } = parseListenAddress(options.listen ?? '127.0.0.1:0');
  options.signal?.throwIfAborted();
  const backend = await openBackend(options);
  const handler = createRegistryHandler(backend, {
    log: options.log,
    policy: {
      readOnly: options.readOnly,
      maxBlobBytes: options.maxBlobBytes,
      allowMirrorPush: options.allowMirrorPush,
    },
  });
  const server = createServer(handler);
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
