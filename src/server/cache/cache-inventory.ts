import { isIndex, parseManifest } from '../../media/index.js';
import type { CollectGarbageResult, RegistryStorage } from '../storage/registry-storage.js';
import { type UsageLookup, usageKey } from './cache-usage.js';

/** One tagged image the persistent tier holds. */
export interface CachedImage {
  repository: string;
  tag: string;
  /** The tag's manifest or index. */
  digest: string;
  /** Every stored object it reaches (manifests, configs, layers) with its size. */
  objects: Map<string, number>;
  /** Bytes of `objects` (shared ones counted in each image). */
  bytes: number;
  /** When a client last pulled it through the cache (ms), when known. */
  lastUsed?: number;
}

/** Totals over the persistent tier. */
export interface CacheStats {
  repositories: number;
  images: number;
  /** Distinct stored objects the tags reach. */
  objects: number;
  /** Their bytes, each object once. */
  bytes: number;
}

/** Every tagged image of `storage`, with what it reaches and when it was last used. */
export async function listCachedImages(
  storage: RegistryStorage,
  usage: UsageLookup,
  signal?: AbortSignal,
): Promise<CachedImage[]> {
  const images: CachedImage[] = [];
  for (const repository of await storage.repositories({ signal })) {
    for (const tag of await storage.tags(repository, { signal })) {
      const root = await storage.getManifest(repository, tag, { signal });
      if (!root) continue;
      const objects = new Map<string, number>();
      await reach(storage, repository, root.descriptor.digest, objects, signal);
      let bytes = 0;
      for (const size of objects.values()) bytes += size;
      const lastUsed = usage.get(usageKey(repository, tag));
      images.push({ repository, tag, digest: root.descriptor.digest, objects, bytes, lastUsed });
    }
  }
  return images;
}

/** Add manifest `digest` of `repository` and what it references (stored ones) to `objects`. */
async function reach(
  storage: RegistryStorage,
  repository: string,
  digest: string,
  objects: Map<string, number>,
  signal?: AbortSignal,
): Promise<void> {
  if (objects.has(digest)) return;
  const found = await storage.getManifest(repository, digest, { signal });
  if (!found) return;
  objects.set(digest, found.bytes.length);
  const manifest = parseManifest(found.bytes, found.descriptor.mediaType);
  if (isIndex(manifest)) {
    for (const child of manifest.manifests) {
      await reach(storage, repository, child.digest, objects, signal);
    }
    return;
  }
  for (const blob of [manifest.config, ...manifest.layers]) {
    if (objects.has(blob.digest)) continue;
    const size = await storage.statBlob(repository, blob.digest, { signal });
    if (size !== undefined) objects.set(blob.digest, size);
  }
}

/** Totals of `images`, shared objects counted once. */
export function cacheStats(images: CachedImage[]): CacheStats {
  const objects = new Map<string, number>();
  for (const image of images) for (const [d, size] of image.objects) objects.set(d, size);
  let bytes = 0;
  for (const size of objects.values()) bytes += size;
  return {
    repositories: new Set(images.map((i) => i.repository)).size,
    images: images.length,
    objects: objects.size,
    bytes,
  };
}

/** Options of {@link evictCached}. */
export interface EvictOptions {
  /** Evict least recently used images until the tags reach at most this many bytes. */
  maxBytes?: number;
  /** Evict images not pulled for this long (ms); never pulled counts as long ago. */
  olderThanMs?: number;
  /** Evict these: `REPOSITORY` (every tag) or `REPOSITORY:TAG`. */
  names?: string[];
  /** Keep content stored more recently than this (ms; default 0: the server is the writer). */
  graceMs?: number;
  /** Say what would go, remove nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
}

/** What {@link evictCached} did. */
export interface EvictResult {
  evicted: CachedImage[];
  /** What the collector then removed (blobs no remaining tag reaches). */
  collected: CollectGarbageResult;
}

/**
 * Trim the persistent tier: pick images by name, age or least recent use (until the
 * distinct bytes the remaining tags reach fit `maxBytes`), delete their manifests (and so
 * their tags), then let the storage's collector remove what nothing reaches any more.
 */
export async function evictCached(
  storage: RegistryStorage,
  usage: UsageLookup,
  options: EvictOptions,
): Promise<EvictResult> {
  const { signal, dryRun } = options;
  const images = await listCachedImages(storage, usage, signal);
  const chosen = new Set<CachedImage>();
  const now = Date.now();
  for (const image of images) {
    const named = options.names?.some(
      (n) => n === image.repository || n === `${image.repository}:${image.tag}`,
    );
    const old =
      options.olderThanMs !== undefined && now - (image.lastUsed ?? 0) > options.olderThanMs;
    if (named || old) chosen.add(image);
  }
  if (options.maxBytes !== undefined) {
    const users = new Map<string, { size: number; count: number }>();
    for (const image of images) {
      if (chosen.has(image)) continue;
      for (const [d, size] of image.objects) {
        const u = users.get(d) ?? { size, count: 0 };
        u.count++;
        users.set(d, u);
      }
    }
    let total = 0;
    for (const u of users.values()) total += u.size;
    const byAge = images
      .filter((i) => !chosen.has(i))
      .sort((a, b) => (a.lastUsed ?? 0) - (b.lastUsed ?? 0));
    for (const image of byAge) {
      if (total <= options.maxBytes) break;
      chosen.add(image);
      for (const d of image.objects.keys()) {
        const u = users.get(d) as { size: number; count: number };
        if (--u.count === 0) total -= u.size;
      }
    }
  }
  const evicted = [...chosen];
  if (!dryRun) {
    for (const image of evicted) {
      await storage.deleteManifest(image.repository, image.digest, { signal });
    }
  }
  const collected = await storage.collectGarbage({
    signal,
    dryRun,
    graceMs: options.graceMs ?? 0,
  });
  return { evicted, collected };
}
