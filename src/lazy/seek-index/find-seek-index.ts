import { readFile, stat } from 'node:fs/promises';
import { type ImageManifest, isIndex, parseManifest } from '../../media/index.js';
import { parseReference, type Reference } from '../../ref/index.js';
import type { RegistryClient } from '../../registry/index.js';
import type { OpenedImage } from '../../source/index.js';
import { registryRangeSource } from '../range-source.js';
import { cachePath, readCachedFile, writeCachedFile, writeWhole } from './cache-files.js';
import {
  decodeLayerSeekIndex,
  type LayerSeekIndex,
  SEEK_INDEX_ARTIFACT_TYPE,
  SEEK_INDEX_LAYER_ANNOTATION,
  SEEK_INDEX_RECORDS_MEDIA_TYPE,
  SEEK_INDEX_TABLE_MEDIA_TYPE,
} from './seek-index-format.js';
import { SpanRecords } from './span-records.js';

/** An image's seek index as found: one checked layer index per indexed layer digest. */
export interface ImageSeekIndex {
  /** Digest of the seek-index artifact manifest. */
  digest: string;
  /**
   * Layer digest → its index (the table), the digest of the table blob, and its records
   * (read by range when a file is read).
   */
  layers: Map<string, { index: LayerSeekIndex; digest: string; records: SpanRecords }>;
}

/** Options of {@link findSeekIndex}. */
export interface FindSeekIndexOptions {
  /** The client the referrers, the manifest and the index blobs are read through. */
  client: RegistryClient;
  /**
   * Where found indexes are kept (the CLI: `STORE/.ocipeek/seek-index`): a second look
   * for the same image reads them from there and asks the registry nothing. That the
   * registry lists no index is kept there too, for `negativeTtlMs`.
   */
  cacheDir?: string;
  /** How long a cached "no index" answer holds, in ms (default 5 minutes). */
  negativeTtlMs?: number;
  /** Told why an index was passed over (it does not match the image). */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

/** Index blobs larger than this are refused (a file table of millions of entries). */
const MAX_INDEX_BLOB = 256 * 1024 * 1024;

/** How long "this image has no seek index" is believed (default of `negativeTtlMs`). */
export const NO_INDEX_TTL_MS = 5 * 60 * 1000;

/** What the pointer file beside the cache says when the registry listed no index. */
const NONE = 'none';

/**
 * What the cache says of `image`: the artifact digest of its index, `null` for a fresh
 * "none", `undefined` when it says nothing (no cache, no pointer, or a "none" too old).
 */
async function cachedPointer(
  cacheDir: string | undefined,
  manifestDigest: string,
  ttlMs: number,
): Promise<string | null | undefined> {
  if (!cacheDir) return undefined;
  const path = cachePath(cacheDir, manifestDigest, '.seek-index');
  const said = await readFile(path, 'utf8').catch(() => undefined);
  if (said !== NONE) return said;
  // Gone since it was read (a cache cleared meanwhile): it says nothing any more.
  const written = await stat(path).catch(() => undefined);
  if (!written) return undefined;
  const age = Date.now() - written.mtimeMs;
  return age >= 0 && age < ttlMs ? null : undefined;
}

/**
 * Say in the cache what the image `manifestDigest` has: the digest of its index's artifact
 * manifest, or that it has none.
 */
export async function writeSeekIndexPointer(
  cacheDir: string | undefined,
  manifestDigest: string,
  said: string,
): Promise<void> {
  if (!cacheDir) return;
  await writeWhole(cachePath(cacheDir, manifestDigest, '.seek-index'), said);
}

/**
 * The artifact manifest kept under `digest`, if it is one of this version's: a pointer
 * left by an older ocipeek (a version 1 index) is asked again, not warned about forever.
 */
async function readCachedManifest(
  cacheDir: string | undefined,
  digest: string,
): Promise<Buffer | undefined> {
  const bytes = await readCachedFile(cacheDir, digest);
  try {
    const json = bytes && (JSON.parse(bytes.toString('utf8')) as { artifactType?: unknown });
    return json && json.artifactType === SEEK_INDEX_ARTIFACT_TYPE ? bytes : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Look for a seek index of a registry image: one referrers request (filtered by
 * {@link SEEK_INDEX_ARTIFACT_TYPE}), then the artifact manifest and its tables, each
 * verified by digest and cached (records are read by range when a file is read). An index
 * is used only for layers whose recorded digest and size are the image's; `undefined`
 * when there is none (or the image is not read from a registry). Both answers are cached:
 * an index for good (it is named by digest), "none" for `negativeTtlMs`, so repeated
 * commands on an image without an index ask the registry nothing.
 */
export async function findSeekIndex(
  image: OpenedImage,
  options: FindSeekIndexOptions,
): Promise<ImageSeekIndex | undefined> {
  if (image.location !== 'registry') return undefined;
  const { client, cacheDir, signal } = options;
  const repo = parseReference(image.name);
  const pointer = await cachedPointer(
    cacheDir,
    image.manifestDigest,
    options.negativeTtlMs ?? NO_INDEX_TTL_MS,
  );
  if (pointer === null) return undefined;
  let artifactDigest = pointer;
  let manifestBytes = artifactDigest && (await readCachedManifest(cacheDir, artifactDigest));
  if (!manifestBytes) {
    const found = await client.listReferrers(repo.withDigest(image.manifestDigest), {
      artifactType: SEEK_INDEX_ARTIFACT_TYPE,
      signal,
    });
    const newest = found.manifests.at(-1);
    if (!newest) {
      await writeSeekIndexPointer(cacheDir, image.manifestDigest, NONE);
      return undefined;
    }
    artifactDigest = newest.digest;
    manifestBytes = (await client.getManifest(repo.withDigest(newest.digest), { signal })).bytes;
    await writeCachedFile(cacheDir, artifactDigest, manifestBytes);
    await writeSeekIndexPointer(cacheDir, image.manifestDigest, artifactDigest);
  }
  const manifest = parseManifest(manifestBytes);
  if (
    isIndex(manifest) ||
    manifest.artifactType !== SEEK_INDEX_ARTIFACT_TYPE ||
    manifest.subject?.digest !== image.manifestDigest
  ) {
    options.onWarning?.(`${artifactDigest} is not a seek index of ${image.manifestDigest}`);
    return undefined;
  }
  return {
    digest: artifactDigest!,
    layers: await layerIndexes(image, repo, manifest, options),
  };
}

/** The artifact's layer indexes that match a layer of the image, fetched and checked. */
async function layerIndexes(
  image: OpenedImage,
  repo: Reference,
  manifest: ImageManifest,
  options: FindSeekIndexOptions,
): Promise<ImageSeekIndex['layers']> {
  const byDigest = new Map(image.layers.map((l) => [l.descriptor.digest, l]));
  const layers: ImageSeekIndex['layers'] = new Map();
  for (const blob of manifest.layers) {
    const layer = byDigest.get(blob.annotations?.[SEEK_INDEX_LAYER_ANNOTATION] ?? '');
    if (blob.mediaType !== SEEK_INDEX_TABLE_MEDIA_TYPE || !layer) continue;
    let bytes = await readCachedFile(options.cacheDir, blob.digest);
    if (!bytes) {
      bytes = await options.client.readBlob(repo, blob, {
        signal: options.signal,
        maxBytes: MAX_INDEX_BLOB,
      });
      await writeCachedFile(options.cacheDir, blob.digest, bytes);
    }
    const description = `layer ${layer.index} (${layer.descriptor.digest})`;
    const index = decodeLayerSeekIndex(bytes, description);
    // Trusted only for the very layer it was built from.
    if (
      index.layer.digest !== layer.descriptor.digest ||
      index.layer.size !== layer.descriptor.size
    ) {
      options.onWarning?.(
        `${description}: the seek index ${blob.digest} was built for ${index.layer.digest} (${index.layer.size} bytes); not used`,
      );
      continue;
    }
    const recordsBlob = manifest.layers.find(
      (d) =>
        d.mediaType === SEEK_INDEX_RECORDS_MEDIA_TYPE &&
        d.digest === index.records.digest &&
        d.size === index.records.size,
    );
    if (!recordsBlob) {
      options.onWarning?.(
        `${description}: the seek index ${blob.digest} has no records blob; not used`,
      );
      continue;
    }
    const source = registryRangeSource(repo, recordsBlob, {
      client: options.client,
      description: `${description}, seek index records`,
    });
    const records = new SpanRecords(index, source, options.cacheDir);
    layers.set(layer.descriptor.digest, { index, digest: blob.digest, records });
  }
  return layers;
}
