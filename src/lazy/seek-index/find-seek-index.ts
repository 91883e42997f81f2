import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestOf } from '../../digest/index.js';
import { type ImageManifest, isIndex, parseManifest } from '../../media/index.js';
import { parseReference, type Reference } from '../../ref/index.js';
import type { RegistryClient } from '../../registry/index.js';
import type { OpenedImage } from '../../source/index.js';
import {
  decodeLayerSeekIndex,
  type LayerSeekIndex,
  SEEK_INDEX_ARTIFACT_TYPE,
  SEEK_INDEX_LAYER_ANNOTATION,
  SEEK_INDEX_LAYER_MEDIA_TYPE,
} from './seek-index-format.js';

/** An image's seek index as found: one checked layer index per indexed layer digest. */
export interface ImageSeekIndex {
  /** Digest of the seek-index artifact manifest. */
  digest: string;
  /** Layer digest → its index and the digest of the index blob. */
  layers: Map<string, { index: LayerSeekIndex; digest: string }>;
}

/** Options of {@link findSeekIndex}. */
export interface FindSeekIndexOptions {
  /** The client the referrers, the manifest and the index blobs are read through. */
  client: RegistryClient;
  /**
   * Where found indexes are kept (the CLI: `STORE/.ocipeek/seek-index`): a second look
   * for the same image reads them from there and asks the registry nothing.
   */
  cacheDir?: string;
  /** Told why an index was passed over (it does not match the image). */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

/** Index blobs larger than this are refused (a file table of millions of entries). */
const MAX_INDEX_BLOB = 256 * 1024 * 1024;

const fileName = (digest: string) => digest.replace(':', '-');

async function readCached(dir: string | undefined, digest: string): Promise<Buffer | undefined> {
  if (!dir) return undefined;
  const bytes = await readFile(join(dir, fileName(digest))).catch(() => undefined);
  // A cached file is named by its digest; one that no longer has it is not used.
  return bytes && digestOf(bytes, 'sha256') === digest ? bytes : undefined;
}

async function writeCached(dir: string | undefined, digest: string, bytes: Buffer) {
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${fileName(digest)}.${process.pid}.tmp`);
  await writeFile(tmp, bytes);
  await rename(tmp, join(dir, fileName(digest)));
}

/**
 * Look for a seek index of a registry image: one referrers request (filtered by
 * {@link SEEK_INDEX_ARTIFACT_TYPE}), then the artifact manifest and its index blobs, each
 * verified by digest and cached. An index is used only for layers whose recorded digest
 * and size are the image's; `undefined` when there is none (or the image is not read
 * from a registry).
 */
export async function findSeekIndex(
  image: OpenedImage,
  options: FindSeekIndexOptions,
): Promise<ImageSeekIndex | undefined> {
  if (image.location !== 'registry') return undefined;
  const { client, cacheDir, signal } = options;
  const repo = parseReference(image.name);
  const pointer = `${fileName(image.manifestDigest)}.seek-index`;
  let artifactDigest = cacheDir
    ? await readFile(join(cacheDir, pointer), 'utf8').catch(() => undefined)
    : undefined;
  let manifestBytes = artifactDigest && (await readCached(cacheDir, artifactDigest));
  if (!manifestBytes) {
    const found = await client.listReferrers(repo.withDigest(image.manifestDigest), {
      artifactType: SEEK_INDEX_ARTIFACT_TYPE,
      signal,
    });
    const newest = found.manifests.at(-1);
    if (!newest) return undefined;
    artifactDigest = newest.digest;
    manifestBytes = (await client.getManifest(repo.withDigest(newest.digest), { signal })).bytes;
    await writeCached(cacheDir, artifactDigest, manifestBytes);
    if (cacheDir) await writeFile(join(cacheDir, pointer), artifactDigest);
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
    if (blob.mediaType !== SEEK_INDEX_LAYER_MEDIA_TYPE || !layer) continue;
    let bytes = await readCached(options.cacheDir, blob.digest);
    if (!bytes) {
      bytes = await options.client.readBlob(repo, blob, {
        signal: options.signal,
        maxBytes: MAX_INDEX_BLOB,
      });
      await writeCached(options.cacheDir, blob.digest, bytes);
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
    layers.set(layer.descriptor.digest, { index, digest: blob.digest });
  }
  return layers;
}
