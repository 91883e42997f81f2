import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { RegistryStorage } from '../server/storage/registry-storage.js';
import { readCapped } from '../transport/read-capped.js';
import { MemoryTier, type MemoryTierOptions } from '../util/memory-tier.js';
import type { BlobDownload } from './blob-download.js';
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
  /**
   * A folder for blobs being fetched (each an unlinked file read by every reader of the
   * blob meanwhile; default the system's temp folder).
   */
  spoolDir?: string;
}

/** How a blob being fetched is opened at its source (a fresh signal: the fetch's own). */
export type BlobFetch = (signal: AbortSignal) => Promise<BlobStream>;

/** Where a blob came from, counted by {@link BlobCache.counts}. */
export type BlobCacheSource = 'memory' | 'persistent' | 'network';

/**
 * A blob cache for programs: a {@link RegistryClient} given one (`blobCache`) reads
 * every blob it can from it, and stores what it fetches, so pulls in one Node process,
 * or in several sharing a store or a bucket, fetch each blob once, without a server.
 * The same tiers as the pull-through cache of `ocipeek serve --upstream`: a bounded memory
 * tier of small objects in front of the persistent one (the store, or S3).
 *
 * A blob not cached yet is fetched once, however many readers want it meanwhile: its
 * bytes go to a spool file as they arrive and every reader follows that file
 * ({@link BlobDownload}), so the first reader gets bytes as they come and later ones catch
 * up. A whole read ends only once the digest checked out; a blob that fails it fails
 * every reader (an error, never a clean end of wrong bytes) and is not kept. A verified
 * blob enters the persistent tier (the store and the storage verify what they write
 * again), and a reader that goes away does not stop the fetch. Blobs of unknown size are
 * not cached (a descriptor always says the size).
 */
export class BlobCache {
  private readonly memory: MemoryTier | undefined;
  private readonly downloads = new Map<string, Promise<BlobDownload>>();
  /** Downloads finished so far (see the second look in {@link open}). */
  private finishedDownloads = 0;
  /** Blobs served, by where they came from. */
  readonly counts: Record<BlobCacheSource, number> = { memory: 0, persistent: 0, network: 0 };

  constructor(private readonly options: BlobCacheOptions = {}) {
    this.memory = options.memory === false ? undefined : new MemoryTier(options.memory || {});
  }

  private get repository(): string {
    return this.options.repository ?? 'ocipeek/blob-cache';
  }

  /**
   * Blob `target` from the cache, or streamed from the one fetch of it with `fetch` (a
   * verified stream from the registry), which stores it once verified.
   */
  async open(target: BlobTarget, fetch: BlobFetch, signal?: AbortSignal): Promise<BlobStream> {
    const { digest, size } = target;
    const finishedBefore = this.finishedDownloads;
    const cached = await this.cached(digest, signal);
    if (cached) return cached;
    if (size === undefined || !this.hasPersistent()) {
      return this.fetchToMemory(target, fetch, signal);
    }
    // A download may have stored it and left while the tiers were being asked.
    if (!this.downloads.has(digest) && this.finishedDownloads !== finishedBefore) {
      const justStored = await this.cached(digest, signal);
      if (justStored) return justStored;
    }
    const download = await this.download({ digest, size }, fetch);
    signal?.throwIfAborted();
    this.counts.network++;
    const reader = download.reader();
    if (signal) {
      const stop = () => reader.destroy(signal.reason as Error);
      signal.addEventListener('abort', stop, { once: true });
      reader.once('close', () => signal.removeEventListener('abort', stop));
    }
    return blobStreamOf(reader);
  }

  /**
   * Wait until every fetch in flight is stored (or failed). A read ends once its blob
   * verified; storing it follows, so a program that wants it in the persistent tier
   * before it exits (or another process looks) waits for this.
   */
  async flush(): Promise<void> {
    await Promise.all(
      [...this.downloads.values()].map((p) =>
        p.then(
          (d) => d.finished,
          () => undefined,
        ),
      ),
    );
  }

  /** Stop the fetches in flight and wait until each settled (nothing partial is kept). */
  async close(): Promise<void> {
    await Promise.all(
      [...this.downloads.values()].map((p) =>
        p.then(
          (d) => {
            d.cancel(new Error('the blob cache is closing'));
            return d.finished;
          },
          () => undefined,
        ),
      ),
    );
  }

  private hasPersistent(): boolean {
    return this.options.store !== undefined || this.options.storage !== undefined;
  }

  /** The running fetch of `target`, or a new one. */
  private download(target: { digest: string; size: number }, fetch: BlobFetch) {
    const { digest, size } = target;
    let running = this.downloads.get(digest);
    if (running) return running;
    // Loaded on the first fetch: it writes spool files with the store's positional writer,
    // which the registry entry point does not load otherwise.
    running = import('./blob-download.js').then(({ BlobDownload }) =>
      BlobDownload.start({
        open: fetch,
        digest,
        size,
        spoolDir: this.options.spoolDir ?? join(tmpdir(), 'ocipeek-cache-spool'),
        onVerified: (body) => this.store(target, body),
      }),
    );
    this.downloads.set(digest, running);
    void running.then(
      async (d) => {
        await d.finished;
        this.finishedDownloads++;
        this.downloads.delete(digest);
      },
      () => this.downloads.delete(digest),
    );
    return running;
  }

  /** The blob from the memory tier or the persistent one, or `undefined`. */
  private async cached(digest: string, signal?: AbortSignal): Promise<BlobStream | undefined> {
    const held = this.memory?.get(digest);
    if (held) {
      this.counts.memory++;
      return blobStreamOfBytes(held.bytes);
    }
    const persistent = await this.readPersistent(digest, signal);
    if (!persistent) return undefined;
    this.counts.persistent++;
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

  /**
   * Put a verified blob into the persistent tier (which verifies it again as it writes),
   * and a small one into the memory tier.
   */
  private async store(target: { digest: string; size: number }, body: Readable): Promise<void> {
    const { store, storage } = this.options;
    let source = body;
    if (this.memory?.fits(target.size)) {
      const bytes = await readCapped(body, target.size, `blob ${target.digest}`);
      this.memory.set(target.digest, { bytes });
      source = blobStreamOfBytes(bytes);
    }
    if (store) {
      await store.writeBlob(target, source);
      return;
    }
    await storage!.putBlob(this.repository, target.digest, source, { size: target.size });
  }

  /** No persistent tier (or no size): a small blob is kept in memory, a large one passed on. */
  private async fetchToMemory(
    target: BlobTarget,
    fetch: BlobFetch,
    signal?: AbortSignal,
  ): Promise<BlobStream> {
    const body = await fetch(signal ?? new AbortController().signal);
    this.counts.network++;
    const { size } = target;
    if (!this.memory || size === undefined || !this.memory.fits(size)) return body;
    signal?.throwIfAborted();
    const bytes = await readCapped(body, size, `blob ${target.digest}`);
    this.memory.set(target.digest, { bytes });
    return blobStreamOfBytes(bytes);
  }
}
