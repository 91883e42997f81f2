import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest } from '../digest/index.js';
import { tempNamePid } from './atomic-file.js';
import { contentGraph } from './content-graph.js';
import { FileLock } from './file-lock.js';
import { errnoCode, storeFsError } from './fs-errors.js';
import { isAlive } from './process-owner.js';
import type { Store } from './store.js';

/** Options of {@link pruneStore}. */
export interface PruneOptions {
  signal?: AbortSignal;
  /** Report what would be removed without removing anything. Default false. */
  dryRun?: boolean;
}

/** What {@link pruneStore} removed. */
export interface PruneResult {
  /** Blobs no named image reaches, removed. */
  blobsRemoved: number;
  /** Bytes freed in all: removed blobs plus removed temp files. */
  bytesFreed: number;
  /** Temp files removed: `.partial` downloads no process is writing, leftovers of crashes. */
  tempFilesRemoved: number;
  /** Of `bytesFreed`, the bytes of temp files. */
  tempBytesFreed: number;
}

/**
 * Mark every blob reachable from `index.json` (indexes → manifests → configs, layers,
 * subjects), then remove the unmarked blobs and stale temp files.
 *
 * Holds the index lock throughout: `tag` also takes it and checks that the blobs it
 * names exist, so a pull racing with prune either tags before the mark (its blobs are
 * kept) or finds a blob gone and fails instead of naming missing content. Downloads in
 * flight are safe: their `.partial` files are locked and skipped.
 */
export async function pruneStore(store: Store, options: PruneOptions = {}): Promise<PruneResult> {
  const result: PruneResult = {
    blobsRemoved: 0,
    bytesFreed: 0,
    tempFilesRemoved: 0,
    tempBytesFreed: 0,
  };
  const lock = await store.lockIndex(options);
  try {
    const marked = new Set<string>();
    const index = await store.layout.index(options);
    for (const root of index.manifests) {
      const graph = await contentGraph(store.layout, root, options);
      for (const digest of graph.nodes.keys()) marked.add(digest);
    }
    const blobsDir = join(store.dir, 'blobs');
    for (const algorithm of await readdir(blobsDir).catch(() => [] as string[])) {
      for (const hex of await readdir(join(blobsDir, algorithm)).catch(() => [] as string[])) {
        options.signal?.throwIfAborted();
        const digest = `${algorithm}:${hex}`;
        // Files that are not digests are not ours to judge: validate() reports them.
        if (!isDigest(digest) || marked.has(digest)) continue;
        const freed = await remove(join(blobsDir, algorithm, hex), options.dryRun);
        if (freed === undefined) continue;
        result.blobsRemoved++;
        result.bytesFreed += freed;
      }
    }
    await pruneTemp(store, result, options);
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
      const pid = tempNamePid(name);
      if (pid !== undefined && pid !== process.pid && isAlive(pid)) continue;
      if (pid === process.pid) continue;
      freed = await remove(path, options.dryRun);
    }
    if (freed === undefined) continue;
    result.tempFilesRemoved++;
    result.tempBytesFreed += freed;
    result.bytesFreed += freed;
  }
}

/** Remove a file, returning its size (undefined when it vanished meanwhile). */
async function remove(path: string, dryRun = false): Promise<number | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return undefined;
    if (!dryRun) await unlink(path);
    return info.size;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw storeFsError(err, path, 'remove');
  }
}
