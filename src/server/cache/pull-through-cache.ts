import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Descriptor } from '../../media/index.js';
import { Reference } from '../../ref/index.js';
import type { ImageTrust, RegistryClient } from '../../registry/index.js';
import { MemoryTier, type MemoryTierOptions } from '../../util/memory-tier.js';
import { RegistryHttpError } from '../registry/http-errors.js';
import type { Metrics } from '../registry/metrics.js';
import { enableResponseNotes } from '../registry/response-notes.js';
import type {
  BackendBlob,
  BackendCallOptions,
  RegistryBackend,
  RegistryStorage,
  StoredManifest,
} from '../storage/registry-storage.js';
import { StoreStorage } from '../storage/store-storage.js';
import { CacheCounters } from './cache-counters.js';
import { startCacheMaintenance } from './cache-maintenance.js';
import { CachePolicy } from './cache-policy.js';
import { CacheUsage, usageDocumentOf } from './cache-usage.js';
import { CachedBlobs } from './cached-blobs.js';
import { CachedManifests } from './cached-manifests.js';
import { SizeHints } from './size-hints.js';
import { isUpstreamNotFound, isUpstreamUnavailable, upstreamHttpError } from './upstream-errors.js';
import { UpstreamHealth } from './upstream-health.js';
import type { Upstream, UpstreamMap } from './upstream-map.js';

/** Options of {@link PullThroughCache}. */
export interface PullThroughCacheOptions {
  /** The persistent tier: where fetched manifests and blobs are stored (the store, S3). */
  storage: RegistryStorage;
  /** The upstreams and how names route to them. */
  upstreams: UpstreamMap;
  /**
   * The client upstream requests go through (its keychain, TLS settings, retries). It is
   * told the scheme of every upstream given with one ({@link Upstream.scheme}).
   */
  client: RegistryClient;
  /** How long a cached tag is served before one HEAD revalidates it (default 5 min). */
  tagTtlMs?: number;
  /** The memory tier's bounds (default 64 MiB, objects up to 1 MiB). */
  memory?: MemoryTierOptions;
  /** A folder for blobs being fetched (default: the store's, or the system's temp folder). */
  spoolDir?: string;
  /** Times a broken upstream blob connection is resumed with `Range` (default 5). */
  maxResumes?: number;
  /** Where the counters go (the server's `/metrics`); default a set of its own. */
  metrics?: Metrics;
  /** Told about failed downloads and stores, one line each. */
  log?: (line: string) => void;
  /**
   * The persistent tier's bound: every minute, past it, the least recently used images
   * are evicted (distinct bytes the tags reach; default: no bound).
   */
  maxBytes?: number;
  /**
   * How often tag uses are saved (the storage's usage document: the store's
   * `.ocipeek/cache/usage.json`, S3's `_cache/usage.json`) and `maxBytes` enforced
   * (default every minute).
   */
  maintenanceIntervalMs?: number;
  /**
   * policy.json for the images served from upstreams (default: the client's `trust`, as
   * the CLI's client has it from `--signature-policy` or the usual files; `false`: none).
   * A refused image answers 403 `DENIED` and is not stored.
   */
  trust?: ImageTrust | false;
  /** Close `client` in {@link PullThroughCache.close} (it was made for the cache alone). */
  closeClient?: boolean;
}

/**
 * A pull-through cache as a {@link RegistryBackend}, for the registry server
 * (`ocipeek serve --upstream NAME=URL`): a repository `NAME/repo` is served from the
 * cache's tiers (memory, then the storage) or fetched from upstream `NAME` once, stored
 * when verified, and served from the cache afterwards (see {@link CachedManifests} for
 * tags and digests, {@link CachedBlobs} for the shared, streamed blob downloads).
 *
 * It is read-only to clients: pushes answer 405. Content is stored under the cache's
 * repository names, so per-repository access rules apply to it as to any repository.
 */
export class PullThroughCache implements RegistryBackend {
  readonly storage: RegistryStorage;
  readonly memory: MemoryTier;
  readonly counters: CacheCounters;
  private readonly upstreams: UpstreamMap;
  private readonly client: RegistryClient;
  private readonly health: UpstreamHealth;
  private readonly manifests: CachedManifests;
  private readonly blobs: CachedBlobs;
  private readonly closeClient: boolean;
  private readonly maintenance: ReturnType<typeof startCacheMaintenance>;

  constructor(options: PullThroughCacheOptions) {
    // An upstream given as a URL is spoken to with its scheme alone: the client is told
    // first, so that a contradiction (http:// in an HTTPS-only mode) stops nothing started.
    for (const upstream of options.upstreams.all()) {
      if (upstream.scheme) options.client.transport.useScheme(upstream.registry, upstream.scheme);
    }
    // Its counters and upstream health note headers on the answers (X-Ocipeek-Cache).
    enableResponseNotes();
    this.closeClient = options.closeClient ?? false;
    this.storage = options.storage;
    this.upstreams = options.upstreams;
    this.client = options.client;
    this.memory = new MemoryTier(options.memory);
    this.counters = new CacheCounters(options.metrics);
    this.health = new UpstreamHealth(this.counters);
    const sizes = new SizeHints();
    const parts = {
      storage: this.storage,
      client: this.client,
      memory: this.memory,
      counters: this.counters,
      health: this.health,
      sizes,
    };
    const usage = new CacheUsage(usageDocumentOf(this.storage));
    this.manifests = new CachedManifests({
      ...parts,
      usage,
      policy: new CachePolicy(
        options.trust === undefined ? this.client.trust : options.trust || undefined,
        this.client,
        this.storage.document?.bind(this.storage),
      ),
      tagTtlMs: options.tagTtlMs ?? 300_000,
    });
    this.maintenance = startCacheMaintenance({
      storage: this.storage,
      usage,
      maxBytes: options.maxBytes,
      intervalMs: options.maintenanceIntervalMs,
      log: options.log,
    });
    const spoolDir =
      options.spoolDir ??
      (this.storage instanceof StoreStorage
        ? join(this.storage.store.dir, '.ocipeek', 'cache-spool')
        : join(tmpdir(), 'ocipeek-cache-spool'));
    this.blobs = new CachedBlobs({
      ...parts,
      spoolDir,
      maxResumes: options.maxResumes,
      log: options.log,
    });
    const c = this.counters;
    c.gauge(
      'ocipeek_cache_memory_bytes',
      'Bytes held by the memory tier.',
      () => this.memory.bytes,
    );
    c.gauge(
      'ocipeek_cache_memory_objects',
      'Objects held by the memory tier.',
      () => this.memory.count,
    );
    c.gauge(
      'ocipeek_cache_memory_evictions',
      'Objects the memory tier dropped for room.',
      () => this.memory.evictions,
    );
    c.gauge(
      'ocipeek_cache_downloads_in_flight',
      'Blob downloads from upstream running now.',
      () => this.blobs.inFlight,
    );
    c.gauge(
      'ocipeek_cache_upstreams_down',
      'Upstreams whose last request failed.',
      () => this.health.downCount,
    );
  }

  repositories(options: BackendCallOptions = {}): Promise<string[]> {
    return this.storage.repositories(options);
  }

  async hasRepository(name: string, options: BackendCallOptions = {}): Promise<boolean> {
    return this.upstreams.route(name) !== undefined || this.storage.hasRepository(name, options);
  }

  /** Upstream's tags (what a client listing tags wants), or the cached ones when it is down. */
  async tags(name: string, options: BackendCallOptions = {}): Promise<string[]> {
    const route = this.upstreams.route(name);
    if (!route) return this.storage.tags(name, options);
    try {
      const ref = new Reference(route.upstream.registry, route.repository);
      const tags = await this.client.listTags(ref, { signal: options.signal });
      this.health.ok(route.upstream);
      this.counters.result('tags', 'miss');
      return [...new Set(tags)].sort();
    } catch (err) {
      if (isUpstreamNotFound(err)) {
        if (await this.storage.hasRepository(name, options))
          return this.storage.tags(name, options);
        throw new RegistryHttpError(
          404,
          'NAME_UNKNOWN',
          `repository name not known upstream: ${name}`,
        );
      }
      if (!isUpstreamUnavailable(err)) throw upstreamHttpError(err, route.upstream.registry);
      this.health.failed(route.upstream, (err as Error).message);
      this.counters.result('tags', 'stale');
      this.health.noteIfDown(route.upstream);
      return this.storage.tags(name, options);
    }
  }

  getManifest(
    name: string,
    reference: string,
    options: BackendCallOptions = {},
  ): Promise<StoredManifest | undefined> {
    return this.manifests.get(name, reference, this.upstreams.route(name), options.signal);
  }

  openBlob(
    name: string,
    digest: string,
    options: BackendCallOptions = {},
  ): Promise<BackendBlob | undefined> {
    return this.blobs.open(name, digest, this.upstreams.route(name), options.signal);
  }

  referrers(name: string, digest: string, options: BackendCallOptions = {}): Promise<Descriptor[]> {
    return this.storage.referrers(name, digest, options);
  }

  /**
   * Run the background maintenance now (save the tag uses; with `maxBytes`, evict past
   * it), after the run under way; resolves when it is done.
   */
  maintain(): Promise<void> {
    return this.maintenance.runNow();
  }

  /** Stop the downloads in flight, then close the storage. */
  async close(): Promise<void> {
    await this.blobs.close();
    await this.maintenance.stop();
    await this.storage.close?.();
    if (this.closeClient) await this.client.close();
  }
}
