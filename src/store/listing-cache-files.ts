import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest } from '../digest/index.js';
import { tempNamePid } from './atomic-file.js';
import { errnoCode, removeFile } from './fs-errors.js';
import { mayBeWriterOf } from './process-owner.js';

/**
 * Default bound of the per-layer listing cache (`STORE/.ocipeek/fs-index`). A listing is
 * a few KiB to a few MiB (gzip'd columns), so this holds the listings of hundreds of
 * layers; beyond it the least recently used go first.
 */
export const DEFAULT_LISTING_CACHE_MAX_BYTES = 256 * 1024 * 1024;

const LISTING_FILE = /^([a-z0-9]+)-([a-f0-9]+)\.json\.gz$/;

/** The cache file of layer `digest`: `ALG-HEX.json.gz`. */
export function listingFileName(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}-${hex}.json.gz`;
}

/** The layer digest a cache file name stands for, or undefined for other names. */
export function digestOfListingFile(name: string): string | undefined {
  const m = LISTING_FILE.exec(name);
  return m ? `${m[1]}:${m[2]}` : undefined;
}

/** One cache file: its name, size and when it was last read or written (its mtime). */
export interface ListingFile {
  name: string;
  size: number;
  lastUsed: number;
}

/** What a trim removed. */
export interface TrimResult {
  filesRemoved: number;
  bytesFreed: number;
}

/**
 * The listing files in `dir` (none when it does not exist). Temp files left by a writer
 * that died are removed on the way (a writer's temp name carries its pid).
 */
export async function scanListingFiles(
  dir: string,
  options: { dryRun?: boolean; removed?: TrimResult } = {},
): Promise<ListingFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  const files: ListingFile[] = [];
  await Promise.all(
    names.map(async (name) => {
      const info = await stat(join(dir, name)).catch(() => undefined);
      if (!info?.isFile()) return;
      if (digestOfListingFile(name)) {
        files.push({ name, size: info.size, lastUsed: info.mtimeMs });
        return;
      }
      const pid = tempNamePid(name);
      if (pid === undefined || pid === process.pid || mayBeWriterOf(pid, info.ctimeMs)) return;
      if (!options.dryRun) await unlink(join(dir, name)).catch(() => {});
      if (options.removed) {
        options.removed.filesRemoved++;
        options.removed.bytesFreed += info.size;
      }
    }),
  );
  return files;
}

/**
 * Remove the least recently used of `files` until they add up to at most `maxBytes`;
 * `files` is left holding what stays. Files that vanished meanwhile (another process
 * trimming) count as gone, not as freed.
 */
export async function evictLeastRecentlyUsed(
  dir: string,
  files: ListingFile[],
  maxBytes: number,
  options: { dryRun?: boolean } = {},
): Promise<TrimResult> {
  const result: TrimResult = { filesRemoved: 0, bytesFreed: 0 };
  let total = files.reduce((n, f) => n + f.size, 0);
  if (total <= maxBytes) return result;
  files.sort((a, b) => a.lastUsed - b.lastUsed);
  let drop = 0;
  while (drop < files.length && total > maxBytes) total -= (files[drop++] as ListingFile).size;
  const gone = files.splice(0, drop);
  for (const f of gone) {
    if (options.dryRun || (await removeFile(join(dir, f.name)))) {
      result.filesRemoved++;
      result.bytesFreed += f.size;
    }
  }
  return result;
}
