import type { Readable } from 'node:stream';
import type { RegistryStorage } from '../server/storage/registry-storage.js';
import { readCapped } from '../transport/read-capped.js';
import { MemoryTier, type MemoryTierOptions } from '../util/memory-tier.js';
import type { BlobStream, BlobTarget } from './blobs.js';
import { blobStreamOf, blobStreamOfBytes } from './cached-blob-stream.js';

/**
 * What {@link BlobCache} needs of an ocipeek `Store` (which has all of it): blobs by
 * digest, read verified, written verified before they become visible.
 */
export interface BlobCacheStore {
  hasBlob(digest: string): Promise<number | undefined>;
  openBlob(digest: string, options?: { signal?: AbortSignal }): Readable;
  writeBlob(
    descriptor: { digest: string; size: number },
    source: Readable,
    options?: { signal?: AbortSignal },
  ): Promise<unknown>;
}

/** Where {@link BlobCache} keeps blobs between processes. */
export interface BlobCacheOptions {
  /**
   * The memory tier for small blobs (configs, small layers): a byte budget with least
   * recently used eviction. Default 64 MiB, objects up to 1 MiB; `false`: none.
   */
  memory?: MemoryTierOptions | false;
  /** The persistent tier: an ocipeek store (blobs by digest, shared with the CLI). */
  store?: BlobCacheStore;
  /**
   * Or registry storage as the persistent tier (`StoreStorage`, or `S3Storage` for a
   * bucket), blobs kept in its repository `repository`.
   */
  storage?: RegistryStorage;
  /** The repository of `storage` the cache keeps its blobs in (default `ocipeek/blob-cache`). */
  repository?: string;
}

/** Where a blob came from, counted by {@link BlobCache.counts}. */
export type BlobCacheSource = 'memory' | 'persistent' | 'network';

/**
 * A blob cache for programs: a {@link RegistryClient} given one (`blobCache`) reads
 * every blob it can from it, and stores what it fetches, so pulls in one Node process,
 * or in several sharing a store or a bucket, fetch each blob once, without a server.
 * The same tiers as the pull-through cache of `ocipeek serve --upstream`: a bounded memory
 * tier of small objects in front of the persistent one (the store, or S3).
 *
 * Nothing unverified is ever served from it: a fetched blob enters the persistent tier
 * only once its digest checked out (the store and the storage verify what they write),
 * and is then read back from there, verified again as it streams. Concurrent requests
 * for one blob share one fetch. Blobs of unknown size are not cached (a descriptor always
 * says the size).
 */
export class BlobCache {
  private readonly memory: MemoryTier | undefined;
  private readonly fetches = new Map<string, Promise<void>>();
  /** Blobs served, by where they came from. */
  readonly counts: Record<BlobCacheSource, number> = { memory: 0, persistent: 0, network: 0 };

  constructor(private readonly options: BlobCacheOptions = {}) {
    this.memory = options.memory === false ? undefined : new MemoryTier(options.memory || {});
  }

  private get repository(): string {
    return this.options.repository ?? 'ocipeek/blob-cache';
  }

  /**
   * Blob `target` from the cache, or fetched with `fetch` (a verified stream from the
   * registry), stored, and read back from the cache.
   */
  async open(
    target: BlobTarget,
    fetch: () => Promise<BlobStream>,
    signal?: AbortSignal,
  ): Promise<BlobStream> {
    const { digest, size } = target;
    const cached = await this.cached(digest, signal);
    if (cached) return cached;
    if (size === undefined || !this.hasPersistent()) {
      return this.fetchToMemory(target, fetch, signal);
    }
    let running = this.fetches.get(digest);
    if (!running) {
      running = this.store({ digest, size }, fetch, signal).finally(() =>
        this.fetches.delete(digest),
      );
      this.fetches.set(digest, running);
    }
    await running;
    const stored = await this.cached(digest, signal, 'network');
    if (!stored) throw new Error(`blob ${digest} was stored in the cache but cannot be read back`);
    return stored;
  }

  private hasPersistent(): boolean {
    return this.options.store !== undefined || this.options.storage !== undefined;
  }

  /**
   * The blob from the memory tier or the persistent one, or `undefined`; counted as from
   * there, or as `network` when it was just fetched into it.
   */
  private async cached(
    digest: string,
    signal?: AbortSignal,
    countAs?: 'network',
  ): Promise<BlobStream | undefined> {
    const held = this.memory?.get(digest);
    if (held) {
      this.counts[countAs ?? 'memory']++;
      return blobStreamOfBytes(held.bytes);
    }
    const persistent = await this.readPersistent(digest, signal);
    if (!persistent) return undefined;
    this.counts[countAs ?? 'persistent']++;
    if (this.memory?.fits(persistent.size)) {
      const bytes = await readCapped(persistent.body, persistent.size, `blob ${digest}`);
      this.memory.set(digest, { bytes });
      return blobStreamOfBytes(bytes);
    }
    return blobStreamOf(persistent.body);
  }

  /** A verified stream of the blob from the persistent tier, with its size. */
  private async readPersistent(
    digest: string,
    signal?: AbortSignal,
  ): Promise<{ body: Readable; size: number } | undefined> {
    const { store, storage } = this.options;
    if (store) {
      const size = await store.hasBlob(digest);
      if (size === undefined) return undefined;
      return { body: store.openBlob(digest, { signal }), size };
    }
    if (!storage) return undefined;
    const blob = await storage.openBlob(this.repository, digest, { signal });
    if (!blob) return undefined;
    return { body: await blob.read({ signal }), size: blob.size };
  }

  /** Fetch the blob into the persistent tier (verified by the tier as it writes). */
  private async store(
    target: { digest: string; size: number },
    fetch: () => Promise<BlobStream>,
    signal?: AbortSignal,
  ): Promise<void> {
    const { store, storage } = this.options;
    const body = await fetch();
    if (store) {
      await store.writeBlob(target, body, { signal });
      return;
    }
    await storage!.putBlob(this.repository, target.digest, body, { size: target.size, signal });
  }

  /** No persistent tier (or no size): a small blob is kept in memory, a large one passed on. */
  private async fetchToMemory(
    target: BlobTarget,
    fetch: () => Promise<BlobStream>,
    signal?: AbortSignal,
  ): Promise<BlobStream> {
    const body = await fetch();
    this.counts.network++;
    const { size } = target;
    if (!this.memory || size === undefined || !this.memory.fits(size)) return body;
    signal?.throwIfAborted();
    const bytes = await readCapped(body, size, `blob ${target.digest}`);
    this.memory.set(target.digest, { bytes });
    return blobStreamOfBytes(bytes);
  }
}
