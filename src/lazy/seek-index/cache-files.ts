import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { digestOf } from '../../digest/index.js';

/*
 * Seek-index pieces kept in a directory (the CLI: `STORE/.ocipeek/seek-index`), each file
 * named by the sha256 digest of its bytes: artifact manifests, tables and span records.
 */

const fileName = (digest: string) => digest.replace(':', '-');

/** The bytes kept under `digest`, if they are there and still have that digest. */
export async function readCachedFile(
  dir: string | undefined,
  digest: string,
): Promise<Buffer | undefined> {
  if (!dir) return undefined;
  const bytes = await readFile(join(dir, fileName(digest))).catch(() => undefined);
  return bytes && digestOf(bytes, 'sha256') === digest ? bytes : undefined;
}

/** Keep `bytes` under `digest` (written whole, then renamed into place). */
export async function writeCachedFile(
  dir: string | undefined,
  digest: string,
  bytes: Buffer,
): Promise<void> {
  if (!dir) return;
  await writeWhole(join(dir, fileName(digest)), bytes);
}

/** Writes begun by this process: each its own temporary name. */
let writes = 0;

/**
 * Write `path` in `dir` whole, then rename it into place, so that a reader in another
 * process sees the old content or the new, never a torn file. The temporary name is this
 * write's own (pid and a count): two writes of one file at once in one process (`diff` of
 * two images sharing a layer caches its table twice) must not rename each other's file.
 */
export async function writeWhole(path: string, bytes: Buffer | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}-${++writes}.tmp`);
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

/** A file in `dir` named after `digest`, with `suffix` (a pointer beside the cache). */
export const cachePath = (dir: string, digest: string, suffix: string) =>
  join(dir, `${fileName(digest)}${suffix}`);
