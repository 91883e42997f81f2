import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError, ListenError } from '../../errors/index.js';
import { openRegistryStorage } from '../storage/open-storage.js';
import { isWritable, type RegistryBackend } from '../storage/registry-storage.js';
import { Gatekeeper } from './access/gatekeeper.js';
import { handleTokenRequest } from './access/token-endpoint.js';
import type { TlsFiles } from './config-file.js';
import {
  handleBase,
  handleBlob,
  handleCatalog,
  handleManifest,
  handleReferrers,
  handleTags,
} from './handlers.js';
import { RegistryHttpError, sendError, sendJson, toHttpError } from './http-errors.js';
import { createListener } from './http-listener.js';
import { parseListenAddress } from './listen-address.js';
import { Metrics } from './metrics.js';
import { isRepositoryName } from './names.js';
import { openRoots } from './open-roots.js';
import { withResponseNotes } from './response-notes.js';
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
   * OCI image layout directories, directories holding layouts (see `discoverLayouts`), or
   * ocipeek stores (each image under the repository and tag `ocipeek images` lists), served
   * read-only. Give this, `storageDir` or `storage`.
   */
  roots?: string[] | string;
  /**
   * What to serve read-write (`--storage`): an ocipeek store's folder (created when
   * missing), or `s3://BUCKET/PREFIX` (S3, configured from the AWS environment).
   */
  storageDir?: string;
  /** A storage of the caller's (a pull-through cache, an S3 backend). */
  storage?: RegistryBackend;
  /** `host:port` to listen on (default `127.0.0.1:0`, a free loopback port). */
  listen?: string;
  /** Repository name for a root that is itself a layout (default: the directory's name). */
  name?: string;
  /** S3 storage: redirect blob GETs to presigned URLs valid this many seconds. */
  s3RedirectSeconds?: number;
  /** Refuse every write (405), even over a writable storage. */
  readOnly?: boolean;
  /** Refuse blobs larger than this many bytes (413). Default: no limit. */
  maxBlobBytes?: number;
  /** Accept pushes to repositories of other registries pulled into the store. */
  allowMirrorPush?: boolean;
  /** Serve HTTPS with these files (and require client certificates with `clientCa`). */
  tls?: TlsFiles;
  /** Authentication and per-repository rules (default: none, everything open). */
  gate?: Gatekeeper;
  /** Access log lines as JSON objects or `METHOD URL STATUS` text (default). */
  logFormat?: 'json' | 'text';
  /** On close, how long requests in flight may take to finish (default 30 s). */
  drainMs?: number;
  /** Collect garbage every this many ms, online (a writable storage only; default never). */
  gcIntervalMs?: number;
  /** Counters served at `/metrics` (default: a new set); a pull-through cache adds its own. */
  metrics?: Metrics;
  /** Closes the server when aborted. */
  signal?: AbortSignal;
  /** Receives one line per request and per skipped directory. */
  log?: (line: string) => void;
}

/** A running registry server. */
export interface RunningRegistryServer {
  /** `http://host:port` (or `https://`), with an IPv6 host in brackets. */
  url: string;
  host: string;
  port: number;
  /** The counters served at `/metrics`. */
  metrics: Metrics;
  /** Read the TLS certificate and key again (what `SIGHUP` does). */
  reload(): Promise<void>;
  /**
   * Stop listening, let requests in flight finish (up to `drainMs`), close the rest and
   * wait until the server is closed.
   */
  close(): Promise<void>;
  /** `close`, for `await using server = await startRegistryServer(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const READ = ['GET', 'HEAD'] as const;
const NAME = '(?<name>[^?#]+?)';
const UPLOAD = new RegExp(`^/v2/${NAME}/blobs/uploads/(?<id>[^/]+)$`);

/** The distribution API routes, over whatever backend the request context carries. */
export function createRegistryRouter(): Router {
  const MANIFEST = new RegExp(`^/v2/${NAME}/manifests/(?<reference>[^/]+)$`);
  const BLOB = new RegExp(`^/v2/${NAME}/blobs/(?<digest>[^/]+)$`);
  return new Router()
    .add(READ, /^\/v2\/?$/, handleBase, 'base')
    .add(READ, /^\/v2\/_catalog$/, handleCatalog, 'catalog')
    .add(READ, new RegExp(`^/v2/${NAME}/tags/list$`), handleTags)
    .add(['POST'], new RegExp(`^/v2/${NAME}/blobs/uploads/?$`), handleUploadStart, 'push')
    .add(['GET'], UPLOAD, handleUploadStatus, 'push')
    .add(['PATCH'], UPLOAD, handleUploadChunk, 'push')
    .add(['PUT'], UPLOAD, handleUploadComplete, 'push')
    .add(['DELETE'], UPLOAD, handleUploadCancel, 'push')
    .add(READ, MANIFEST, handleManifest)
    .add(['PUT'], MANIFEST, handleManifestPut, 'push')
    .add(['DELETE'], MANIFEST, handleManifestDelete, 'delete')
    .add(READ, BLOB, handleBlob)
    .add(['DELETE'], BLOB, handleBlobDelete, 'delete')
    .add(READ, new RegExp(`^/v2/${NAME}/referrers/(?<digest>[^/]+)$`), handleReferrers);
}

/** Options of {@link createRegistryHandler}. */
export interface RegistryHandlerOptions {
  /** What the server allows (default: read-write when the backend can be written). */
  policy?: Partial<ServerPolicy>;
  /** Authentication and per-repository rules (default: none, everything open). */
  gate?: Gatekeeper;
  /** Counters served at `/metrics` (default: a new set). */
  metrics?: Metrics;
  /** Access log lines as JSON objects (default) or `METHOD URL STATUS` text. */
  logFormat?: 'json' | 'text';
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
  const {
    policy = {},
    log,
    gate = new Gatekeeper(),
    metrics = new Metrics(),
    logFormat = 'text',
  } = typeof options === 'function' ? { log: options } : options;
  const config: ServerPolicy = {
    readOnly: policy.readOnly ?? false,
    maxBlobBytes: policy.maxBlobBytes,
    // Without `from`, a mount could hand out any blob whose digest is known: only when
    // there are no access rules to get around.
    anonymousMount: policy.anonymousMount ?? !gate.enabled,
    allowMirrorPush: policy.allowMirrorPush ?? false,
  };
  const router = createRegistryRouter();
  const started = Date.now();
  metrics.gauge('ocipeek_registry_uptime_seconds', 'Seconds since the server started.', () =>
    Math.round((Date.now() - started) / 1000),
  );
  return (req, res) => {
    const controller = new AbortController();
    const begin = process.hrtime.bigint();
    const socket = req.socket;
    const readBefore = socket.bytesRead;
    const writtenBefore = socket.bytesWritten;
    let route = 'none';
    let user: string | undefined;
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
      const status = String(res.statusCode);
      const bytesIn = socket.bytesRead - readBefore;
      const bytesOut = socket.bytesWritten - writtenBefore;
      metrics.count('ocipeek_registry_requests_total', 'Requests by route, method and status.', {
        route,
        method: req.method ?? '',
        code: status,
      });
      metrics.count('ocipeek_registry_received_bytes_total', 'Bytes received.', {}, bytesIn);
      metrics.count('ocipeek_registry_sent_bytes_total', 'Bytes sent.', {}, bytesOut);
      if (!log) return;
      if (logFormat === 'text') {
        log(`${req.method} ${req.url} ${res.statusCode}`);
        return;
      }
      log(
        JSON.stringify({
          time: new Date().toISOString(),
          remote: socket.remoteAddress,
          user,
          method: req.method,
          url: req.url,
          route,
          status: res.statusCode,
          bytesIn,
          bytesOut,
          ms: Number(process.hrtime.bigint() - begin) / 1e6,
          complete: res.writableFinished,
        }),
      );
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
        route =
          path === '/token' || path === '/metrics' || path === '/healthz' ? path.slice(1) : 'none';
        if (path === '/token' && gate.tokens) {
          await handleTokenRequest(req, res, query, gate, gate.tokens);
        } else if (path === '/healthz' && (method === 'GET' || method === 'HEAD')) {
          sendJson(res, 200, { status: 'ok' });
        } else if (path === '/metrics' && method === 'GET') {
          const body = Buffer.from(metrics.render());
          res.writeHead(200, {
            'Content-Type': 'text/plain; version=0.0.4',
            'Content-Length': String(body.length),
          });
          res.end(body);
        } else {
          throw new RegistryHttpError(404, 'NOT_FOUND', `no such endpoint: ${path}`);
        }
        return;
      }
      route = routeName(match.handler);
      const identity = await gate.identify(req);
      user = identity.user;
      const name = match.params.name ?? '';
      if (match.access === 'base') gate.authorizeBase(req, identity);
      else if (match.access !== 'catalog' && isRepositoryName(name)) {
        gate.authorize(req, identity, name, match.access);
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
        canPull: (repository) => gate.allows(identity, repository, 'pull'),
        user: identity.user,
      });
    };
    withResponseNotes(res, run).catch((err: unknown) => {
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

/** `handleUploadChunk` → `upload_chunk`: the route label of metrics and logs. */
function routeName(handler: { name: string }): string {
  return handler.name
    .replace(/^handle/, '')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** Run the collector every `gcIntervalMs`, one run at a time; `stop` waits for a run. */
function startOnlineGc(backend: RegistryBackend, options: StartRegistryServerOptions) {
  const interval = options.gcIntervalMs;
  if (!interval || !isWritable(backend) || options.readOnly) return undefined;
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    // A run slower than the interval skips ticks: queued runs would pile up without end.
    if (running) return;
    running = (async () => {
      try {
        const r = await backend.collectGarbage();
        options.log?.(
          `gc: ${r.blobsRemoved} blob(s), ${r.manifestsUnlinked} manifest(s), ${r.uploadsRemoved} upload(s) removed, ${r.bytesFreed} bytes freed`,
        );
      } catch (err) {
        options.log?.(`gc failed: ${(err as Error).message}`);
      }
    })().finally(() => {
      running = undefined;
    });
  }, interval);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
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
    return openRegistryStorage(options.storageDir, {
      s3RedirectSeconds: options.s3RedirectSeconds,
      log: options.log,
      maxBlobBytes: options.maxBlobBytes,
      signal: options.signal,
    });
  }
  const roots = Array.isArray(options.roots) ? options.roots : [options.roots as string];
  return openRoots(roots, {
    name: options.name,
    signal: options.signal,
    log: options.log,
  });
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
  const metrics = options.metrics ?? new Metrics();
  const handler = createRegistryHandler(backend, {
    log: options.log,
    gate: options.gate,
    metrics,
    logFormat: options.logFormat,
    policy: {
      readOnly: options.readOnly,
      maxBlobBytes: options.maxBlobBytes,
      allowMirrorPush: options.allowMirrorPush,
    },
  });
  const listener = await createListener(handler, options.tls);
  const { server } = listener;
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => {
      reject(new ListenError(options.listen ?? `${host}:${port}`, err.code, { cause: err }));
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  }).catch(async (err: unknown) => {
    await backend.close?.();
    throw err;
  });
  const address = server.address() as AddressInfo;
  const gc = startOnlineGc(backend, options);
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= listener
      .close(options.drainMs ?? 30_000)
      .then(() => gc?.stop())
      .then(() => backend.close?.());
    return closing;
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  const urlHost = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `${listener.scheme}://${urlHost}:${address.port}`,
    host: address.address,
    port: address.port,
    metrics,
    reload: () => listener.reload(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
