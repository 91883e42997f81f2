import { InvalidArgumentError } from '../../errors/index.js';
import { RegistryClient } from '../../registry/index.js';
import { PullThroughCache } from '../cache/pull-through-cache.js';
import { UpstreamMap } from '../cache/upstream-map.js';
import { openRegistryStorage } from '../storage/open-storage.js';
import { buildGatekeeper, loadRegistryConfig, type RegistryConfig } from './config-file.js';
import { Metrics } from './metrics.js';
import { type StartRegistryServerOptions, startRegistryServer } from './server.js';

/** Options of {@link serve}, as the CLI parses them from `ocipeek serve`. */
export interface ServeOptions {
  /** `--config FILE`: a YAML registry config; the other options win over it. */
  config?: string;
  /** `--root DIR` (repeatable): layouts, or directories holding layouts, read-only. */
  root?: string[] | string;
  /** `--storage DIR`: the ocipeek store, served read-write. */
  storage?: string;
  /** `--s3-redirect`: answer blob GETs on S3 storage with presigned URLs (seconds valid). */
  s3RedirectSeconds?: number;
  /** `--read-only`: refuse pushes and deletes. */
  readOnly?: boolean;
  /** `--max-blob-size`: refuse larger blobs. */
  maxBlobBytes?: number;
  /** `--allow-push-to-pulled`: accept pushes to repositories of other registries. */
  allowMirrorPush?: boolean;
  /** `--tls-cert`, `--tls-key`: serve HTTPS. */
  tlsCert?: string;
  tlsKey?: string;
  /** `--client-ca`: require client certificates chaining to this CA bundle. */
  clientCa?: string;
  /** `--htpasswd FILE`: HTTP Basic authentication (bcrypt entries). */
  htpasswd?: string;
  /** `--gc-interval`: collect garbage online this often (ms). */
  gcIntervalMs?: number;
  /** `--log-format json|text` (default json). */
  logFormat?: 'json' | 'text';
  /** `--listen HOST:PORT` (default `127.0.0.1:5000`; port 0 picks a free one). */
  listen?: string;
  /** `--name NAME`: repository name for a root that is itself a layout. */
  name?: string;
  /** `--quiet`: no per-request log lines on stderr. */
  quiet?: boolean;
  /**
   * `--upstream NAME=URL` (repeatable; a bare `URL` is the default upstream): serve a
   * pull-through cache of these registries, stored in `storage`. A URL's scheme is how
   * the upstream is spoken to (`http://`: plain HTTP to any host); a bare `host[:port]`
   * follows the client's rule (HTTPS; loopback finds its scheme out).
   */
  upstream?: string[];
  /** `--default-upstream NAME`: the named upstream that also takes unprefixed names. */
  defaultUpstream?: string;
  /** `--tag-ttl`: how long a cached tag is served before one HEAD revalidates it (ms). */
  tagTtlMs?: number;
  /** `--memory-cache`: bytes of the cache's memory tier (0: none). */
  memoryCacheBytes?: number;
  /** `--cache-max-size`: evict least recently pulled images past this many bytes. */
  cacheMaxBytes?: number;
  /** The client the cache fetches through (the CLI's: auth files, TLS flags). */
  client?: RegistryClient;
  /** Stops the server like SIGINT does (for embedding and tests). */
  signal?: AbortSignal;
  /** Where lines go (default: stderr). */
  write?: (line: string) => void;
}

/** The config file's settings with the command line's on top. */
async function settingsOf(options: ServeOptions): Promise<RegistryConfig> {
  const file = options.config ? await loadRegistryConfig(options.config) : {};
  const roots = options.root === undefined ? undefined : [options.root].flat();
  const tlsCert = options.tlsCert ?? file.tls?.cert;
  const tlsKey = options.tlsKey ?? file.tls?.key;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new InvalidArgumentError('TLS needs both --tls-cert and --tls-key');
  }
  const clientCa = options.clientCa ?? file.tls?.clientCa;
  if (clientCa && !tlsCert)
    throw new InvalidArgumentError('--client-ca needs --tls-cert and --tls-key');
  const settings: RegistryConfig = {
    ...file,
    listen: options.listen ?? file.listen,
    root: roots ?? (options.storage ? undefined : file.root),
    storage: options.storage ?? (roots ? undefined : file.storage),
    readOnly: options.readOnly ?? file.readOnly,
    maxBlobBytes: options.maxBlobBytes ?? file.maxBlobBytes,
    allowPushToPulled: options.allowMirrorPush ?? file.allowPushToPulled,
    tls: tlsCert && tlsKey ? { cert: tlsCert, key: tlsKey, clientCa } : undefined,
    logFormat: options.logFormat ?? file.logFormat ?? 'json',
  };
  if (options.htpasswd) settings.auth = { ...file.auth, htpasswd: options.htpasswd };
  if ((settings.root === undefined) === (settings.storage === undefined)) {
    throw new InvalidArgumentError(
      'serve needs either --root DIR or --storage DIR (or one in --config)',
    );
  }
  return settings;
}

/**
 * Where the server's content comes from: the layouts or the store the settings name, or,
 * with `--upstream`, a pull-through cache stored in the storage (a store, or S3).
 */
async function pullThroughCache(
  options: ServeOptions,
  settings: RegistryConfig,
  metrics: Metrics,
  log: ((line: string) => void) | undefined,
): Promise<Pick<StartRegistryServerOptions, 'roots' | 'storageDir' | 'storage'>> {
  // The command line's upstreams replace the file's, as every other flag wins over it.
  const upstream = options.upstream?.length ? options.upstream : settings.upstreams;
  const defaultUpstream = options.defaultUpstream ?? settings.defaultUpstream;
  if (!upstream?.length) {
    if (defaultUpstream !== undefined) {
      throw new InvalidArgumentError('--default-upstream needs --upstream');
    }
    return { roots: settings.root, storageDir: settings.storage };
  }
  if (settings.storage === undefined) {
    throw new InvalidArgumentError(
      '--upstream needs --storage DIR or s3://BUCKET/PREFIX: where the cache keeps what it fetched',
    );
  }
  if (options.s3RedirectSeconds !== undefined) {
    // The cache serves what it holds itself: it counts hits and keeps the memory tier.
    throw new InvalidArgumentError('--s3-redirect cannot be used with --upstream');
  }
  const upstreams = UpstreamMap.parse(upstream, defaultUpstream);
  const storage = await openRegistryStorage(settings.storage, {
    log,
    maxBlobBytes: settings.maxBlobBytes,
    signal: options.signal,
  });
  const cache = new PullThroughCache({
    storage,
    upstreams,
    client: options.client ?? new RegistryClient(),
    closeClient: options.client === undefined,
    tagTtlMs: options.tagTtlMs,
    memory:
      options.memoryCacheBytes === undefined ? undefined : { maxBytes: options.memoryCacheBytes },
    maxBytes: options.cacheMaxBytes,
    metrics,
    log,
  });
  return { storage: cache };
}

/**
 * Run `ocipeek serve`: start the registry, print `listening on URL` to stderr, and keep
 * serving until SIGINT, SIGTERM or `signal`; then let requests in flight finish and
 * close. `SIGHUP` reloads the TLS certificate and key.
 */
export async function serve(options: ServeOptions): Promise<void> {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const settings = await settingsOf(options);
  const log = options.quiet ? undefined : write;
  const metrics = new Metrics();
  const where = await pullThroughCache(options, settings, metrics, log);
  const server = await startRegistryServer({
    ...where,
    metrics,
    s3RedirectSeconds: options.s3RedirectSeconds,
    readOnly: settings.readOnly,
    maxBlobBytes: settings.maxBlobBytes,
    allowMirrorPush: settings.allowPushToPulled,
    tls: settings.tls,
    gate: await buildGatekeeper(settings.auth, settings.access),
    logFormat: settings.logFormat,
    gcIntervalMs: options.gcIntervalMs,
    listen: settings.listen ?? '127.0.0.1:5000',
    name: options.name,
    signal: options.signal,
    log,
  });
  write(`listening on ${server.url}`);
  const reload = () => {
    server.reload().then(
      () => write('reloaded TLS certificate'),
      (err: unknown) =>
        write(`reload failed, keeping the old certificate: ${(err as Error).message}`),
    );
  };
  process.on('SIGHUP', reload);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      options.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
  });
  process.off('SIGHUP', reload);
  await server.close();
}
