import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest } from '../digest/index.js';
import type { Descriptor } from '../media/index.js';
import { errnoCode } from './fs-errors.js';

/** Deeper than this, the roots folder is not walked (repository names nest a few levels). */
const MAX_DEPTH = 24;

/**
 * Descriptors kept by other components of the store besides `index.json`: every
 * `*.json` file under `.ocipeek/roots/` (any depth) that holds a descriptor (`digest`,
 * `size`, `mediaType`). The registry server records there what its repositories hold
 * (untagged manifests, uploaded blobs), so `prune` keeps them like named images; only
 * the registry's own garbage collector drops those records.
 *
 * Files that do not parse, or do not hold a digest, are skipped: a root file is written
 * atomically, so a broken one is someone else's litter, not a lost root.
 */
export async function readExtraRoots(
  rootsDir: string,
  options: { signal?: AbortSignal } = {},
): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  await walk(rootsDir, 0, out, options.signal);
  return out;
}

async function walk(
  dir: string,
  depth: number,
  out: Descriptor[],
  signal: AbortSignal | undefined,
): Promise<void> {
  signal?.throwIfAborted();
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return;
    throw err;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (depth < MAX_DEPTH) await walk(path, depth + 1, out, signal);
    } else if (entry.isFile() && entry.name.endsWith('.json')) {
      const d = await readRoot(path);
      if (d) out.push(d);
    }
  }
}

async function readRoot(path: string): Promise<Descriptor | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<Descriptor>;
    if (typeof parsed.digest !== 'string' || !isDigest(parsed.digest)) return undefined;
    if (typeof parsed.size !== 'number' || !Number.isSafeInteger(parsed.size)) return undefined;
    const mediaType =
      typeof parsed.mediaType === 'string' ? parsed.mediaType : 'application/octet-stream';
    return { mediaType, digest: parsed.digest, size: parsed.size };
  } catch {
    return undefined;
  }
}
