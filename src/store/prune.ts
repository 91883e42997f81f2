import { lstat, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { tempNamePid } from './atomic-file.js';
import { blobFiles } from './blob-files.js';
import { contentGraph } from './content-graph.js';
import { readExtraRoots } from './extra-roots.js';
import { FileLock } from './file-lock.js';
import { errnoCode, storeFsError } from './fs-errors.js';
import {
  DEFAULT_LISTING_CACHE_MAX_BYTES,
  digestOfListingFile,
  evictLeastRecentlyUsed,
  scanListingFiles,
  type TrimResult,
} from './listing-cache-files.js';
import { readLivePins } from './pins.js';
import { mayBeWriterOf } from './process-owner.js';
import { nameOf, orphanSignatureNames } from './signature-names.js';
import type { Store } from './store.js';
import { UnpackRecords } from './unpack-records.js';

/** Options of {@link pruneStore}. */
export interface PruneOptions {
  signal?: AbortSignal;
  /** Report what would be removed without removing anything. Default false. */
  dryRun?: boolean;
  /** Bound of the listing cache (default `DEFAULT_LISTING_CACHE_MAX_BYTES`, 256 MiB). */
  listingCacheMaxBytes?: number;
}

/** What {@link pruneStore} removed. */
export interface PruneResult {
  /** Blobs no named image reaches (and no running operation pinned), removed. */
  blobsRemoved: number;
  /** Bytes freed in all: blobs, temp files and folders, listing cache files. */
  bytesFreed: number;
  /**
   * Temp files and folders removed: `.partial` downloads no process is writing, leftovers
   * of writers that died, staging folders of imports that were killed.
   */
  tempFilesRemoved: number;
  /** Of `bytesFreed`, the bytes of temp files and folders. */
  tempBytesFreed: number;
  /**
   * Listing cache files removed (`.ocipeek/fs-index`): listings of layers the store no
   * longer holds, then the least recently used until the cache is within its bound.
   */
  cacheFilesRemoved: number;
  /** Of `bytesFreed`, the bytes of listing cache files. */
  cacheBytesFreed: number;
  /** Pin records of operations whose process is dead, removed. */
  pinsRemoved: number;
  /**
   * Sigstore signature names (`REPOSITORY:sha256-<hex>.sig`) whose image no name of their
   * repository reaches any more (left by an `rmi` before it removed them), removed.
   */
  signaturesRemoved: number;
}

/**
 * Mark every blob reachable from `index.json` and from the records under
 * `.ocipeek/roots/` (indexes → manifests → configs, layers, subjects) and every blob a
 * running operation pinned, then remove the unmarked blobs,
 * stale temp files and the listing cache's excess.
 *
 * Holds the index lock throughout: pins are written under it and `tag` takes it and
 * checks that the blobs it names exist, so a pull racing with prune either pinned its
 * blobs before the mark (they are kept) or looks at the store after the sweep. Downloads
 * in flight are safe too: their `.partial` files are locked and skipped.
 */
export async function pruneStore(store: Store, options: PruneOptions = {}): Promise<PruneResult> {
  const result: PruneResult = {
    blobsRemoved: 0,
    bytesFreed: 0,
    tempFilesRemoved: 0,
    tempBytesFreed: 0,
    cacheFilesRemoved: 0,
    cacheBytesFreed: 0,
    pinsRemoved: 0,
    signaturesRemoved: 0,
  };
  // Orphaned signature names first (updateIndex takes the index lock itself); what they
  // alone reached is then swept with the rest. A dry run only leaves them out of the mark.
  if (!options.dryRun) {
    await store.updateIndex(async (index) => {
      const orphans = await orphanSignatureNames(store.layout, index.manifests, options);
      result.signaturesRemoved = orphans.size;
      index.manifests = index.manifests.filter((d) => !orphans.has(nameOf(d)));
      return orphans.size > 0;
    }, options);
  }
  const lock = await store.lockIndex(options);
  try {
    const marked = new Set<string>();
    // Pins before the records under roots/: those are written without the index lock,
    // before their writer drops its pin. A digest whose pin is gone by now was recorded
    // first, so the records read next name it.
    const pins = await readLivePins(store.pinsDir, options.dryRun);
    for (const digest of pins.digests) marked.add(digest);
    result.pinsRemoved = pins.removed;
    const index = await store.layout.index(options);
    if (options.dryRun) {
      const orphans = await orphanSignatureNames(store.layout, index.manifests, options);
      result.signaturesRemoved = orphans.size;
      index.manifests = index.manifests.filter((d) => !orphans.has(nameOf(d)));
    }
    const extra = await readExtraRoots(store.rootsDir, options);
    for (const root of [...index.manifests, ...extra]) {
      const graph = await contentGraph(store.layout, root, options);
      for (const digest of graph.nodes.keys()) marked.add(digest);
    }
    const present = new Set<string>();
    for await (const { digest, path, named } of blobFiles(store.dir, options.signal)) {
      // Files that are not digests are not ours to judge: validate() reports them.
      if (!named) continue;
      if (marked.has(digest)) {
        present.add(digest);
        continue;
      }
      const freed = await remove(path, options.dryRun);
      if (freed === undefined) continue;
      result.blobsRemoved++;
      result.bytesFreed += freed;
    }
    await pruneTemp(store, result, options);
    await pruneListingCache(store, present, result, options);
    if (!options.dryRun) await new UnpackRecords(store).prune();
  } finally {
    await lock.release();
  }
  return result;
}

async function pruneTemp(store: Store, result: PruneResult, options: PruneOptions): Promise<void> {
  for (const name of await readdir(store.tmpDir).catch(() => [] as string[])) {
    options.signal?.throwIfAborted();
    const path = join(store.tmpDir, name);
    let freed: number | undefined;
    const partial = /^([a-z0-9]+)-([a-f0-9]+)\.partial$/.exec(name);
    if (partial) {
      // Only a partial nobody is writing: take its blob lock without waiting.
      const lockPath = join(store.locksDir, `blob-${partial[1]}-${partial[2]}.lock`);
      const blobLock = await FileLock.tryAcquire(lockPath);
      if (!blobLock) continue;
      try {
        freed = await remove(path, options.dryRun);
      } finally {
        await blobLock.release();
      }
    } else {
      // Temp files and staging folders carry their writer's pid (`tempName`).
      const pid = tempNamePid(name);
      if (pid === process.pid) continue;
      if (pid !== undefined) {
        const info = await lstat(path).catch(() => undefined);
        if (!info || mayBeWriterOf(pid, info.ctimeMs)) continue;
      }
      freed = await remove(path, options.dryRun, true);
    }
    if (freed === undefined) continue;
    result.tempFilesRemoved++;
    result.tempBytesFreed += freed;
    result.bytesFreed += freed;
  }
}

/** Listings of layers no longer stored go, then the least recently used past the bound. */
async function pruneListingCache(
  store: Store,
  present: Set<string>,
  result: PruneResult,
  options: PruneOptions,
): Promise<void> {
  const removed: TrimResult = { filesRemoved: 0, bytesFreed: 0 };
  const dir = store.fsIndexDir;
  const files = await scanListingFiles(dir, { dryRun: options.dryRun, removed });
  const kept = [];
  for (const f of files) {
    if (present.has(digestOfListingFile(f.name) as string)) {
      kept.push(f);
      continue;
    }
    const freed = await remove(join(dir, f.name), options.dryRun);
    if (freed === undefined) continue;
    removed.filesRemoved++;
    removed.bytesFreed += freed;
  }
  const maxBytes = options.listingCacheMaxBytes ?? DEFAULT_LISTING_CACHE_MAX_BYTES;
  const evicted = await evictLeastRecentlyUsed(dir, kept, maxBytes, options);
  result.cacheFilesRemoved = removed.filesRemoved + evicted.filesRemoved;
  result.cacheBytesFreed = removed.bytesFreed + evicted.bytesFreed;
  result.bytesFreed += result.cacheBytesFreed;
}

/**
 * Remove a file (or, with `tree`, a folder and what it holds), returning the bytes it
 * held (undefined when it vanished meanwhile). Symbolic links are removed, never followed.
 */
async function remove(path: string, dryRun = false, tree = false): Promise<number | undefined> {
  try {
    const info = await lstat(path);
    if (info.isDirectory()) {
      if (!tree) return undefined;
      const size = await treeSize(path);
      if (!dryRun) await rm(path, { recursive: true, force: true });
      return size;
    }
    if (!info.isFile() && !tree) return undefined;
    if (!dryRun) await unlink(path);
    return info.isFile() ? info.size : 0;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw storeFsError(err, path, 'remove');
  }
}

/** Bytes of the regular files under `dir`, hard links once, symbolic links not followed. */
async function treeSize(dir: string): Promise<number> {
  let total = 0;
  const seen = new Set<string>();
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile()) continue;
    const info = await lstat(join(e.parentPath, e.name)).catch(() => undefined);
    if (!info || seen.has(`${info.dev}:${info.ino}`)) continue;
    seen.add(`${info.dev}:${info.ino}`);
    total += info.size;
  }
  return total;
}
