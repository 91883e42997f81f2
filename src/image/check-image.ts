import type { Readable } from 'node:stream';
import { createDigester, parseDigest } from '../digest/index.js';
import { isOcipeekError } from '../errors/index.js';
import {
  type Descriptor,
  type ImageManifest,
  isForeignLayer,
  isIndex,
  isLayerMediaType,
  type Manifest,
  MediaType,
  type Platform,
  parseImageConfig,
  parseManifest,
} from '../media/index.js';
import { requirePlatform } from '../platform/index.js';
import type { ImageSource } from '../source/index.js';
import { checkConcurrency, mapPool } from '../util/task-pool.js';

/** Options of {@link checkImage}. */
export interface CheckImageOptions {
  /** Check every manifest of an index (default: only the `platform` one, as readers see it). */
  allPlatforms?: boolean;
  /** The platform to check from an index; the host's by default. */
  platform?: Platform;
  /** Decompress each layer and compare it with the config's `diff_ids` (default true). */
  diffIds?: boolean;
  /** Blobs checked at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
}

/** One thing wrong with an image. */
export interface ImageProblem {
  /**
   * `missing`: the place does not have it; `corrupt`: its bytes are not what its
   * descriptor says (digest or size); `diff-id`: a layer's uncompressed tar does not hash
   * to the config's diff_id (or cannot be decompressed); `invalid`: a manifest or config
   * does not parse.
   */
  kind: 'missing' | 'corrupt' | 'diff-id' | 'invalid';
  /** The digest concerned. */
  digest: string;
  /** One readable line. */
  message: string;
}

/** What {@link checkImage} looked at and found. */
export interface CheckImageResult {
  /** Manifests and indexes read (each verified against its digest). */
  manifests: number;
  /** Distinct blobs read whole. */
  blobs: number;
  /** Blob bytes read. */
  bytes: number;
  problems: ImageProblem[];
}

/** A blob to read, and the diff_id its uncompressed bytes must hash to (layers). */
interface BlobCheck {
  desc: Descriptor;
  diffId?: string;
}

/**
 * Read every manifest and blob of the image `source` names, as crane validate does: each
 * is verified against its descriptor (size and digest) by the place's verified streams,
 * configs must parse, and each layer is decompressed and hashed against the config's
 * diff_id. Problems are collected, not thrown: the result lists all of them. Foreign
 * (non-distributable) layers with URLs are not read.
 */
export async function checkImage(
  source: ImageSource,
  options: CheckImageOptions = {},
): Promise<CheckImageResult> {
  const { signal } = options;
  const result: CheckImageResult = { manifests: 0, blobs: 0, bytes: 0, problems: [] };
  const problem = (kind: ImageProblem['kind'], digest: string, message: string) =>
    result.problems.push({ kind, digest, message });
  const blobs = new Map<string, BlobCheck>();

  const visitImage = async (manifest: ImageManifest): Promise<void> => {
    const configDesc = manifest.config;
    let diffIds: string[] | undefined;
    try {
      const bytes = await readWhole(await source.openBlob(configDesc, { signal }));
      result.blobs++;
      result.bytes += bytes.length;
      if (isImageConfigType(configDesc.mediaType)) {
        diffIds = parseImageConfig(bytes).rootfs?.diff_ids;
      }
    } catch (err) {
      problem(kindOf(err), configDesc.digest, `config ${configDesc.digest}: ${messageOf(err)}`);
    }
    manifest.layers.forEach((layer, i) => {
      if (blobs.has(layer.digest) || isForeignLayer(layer)) return;
      const check: BlobCheck = { desc: layer };
      if (options.diffIds !== false && diffIds && isLayerMediaType(layer.mediaType)) {
        check.diffId = diffIds[i];
      }
      blobs.set(layer.digest, check);
    });
  };

  const visit = async (desc: Descriptor | undefined, read: () => Promise<Manifest>) => {
    let manifest: Manifest;
    try {
      manifest = await read();
      result.manifests++;
    } catch (err) {
      const digest = desc?.digest ?? '';
      problem(kindOf(err), digest, `manifest ${digest}: ${messageOf(err)}`);
      return;
    }
    if (!isIndex(manifest)) return visitImage(manifest);
    const children = options.allPlatforms
      ? manifest.manifests
      : [requirePlatform(manifest.manifests, options.platform)];
    for (const child of children) {
      await visit(child, async () => {
        const m = await source.manifest(child, { signal });
        return parseManifest(m.bytes, m.mediaType);
      });
    }
  };

  await visit(undefined, async () => {
    const root = await source.root({ signal });
    return parseManifest(root.bytes, root.mediaType);
  });

  const concurrency = checkConcurrency(options.concurrency ?? 4);
  await mapPool(
    [...blobs.values()],
    async (check, poolSignal) => {
      try {
        // Not `result.bytes += await …`: that reads the sum before the wait and loses
        // what the other checks added meanwhile.
        const bytes = await checkBlob(source, check, poolSignal);
        result.bytes += bytes;
        result.blobs++;
      } catch (err) {
        if (signal?.aborted) throw err;
        const what = `layer ${check.desc.digest}`;
        problem(kindOf(err), check.desc.digest, `${what}: ${messageOf(err)}`);
      }
    },
    { concurrency, signal },
  );
  return result;
}

/**
 * Read one blob to its end (verified by the place: it is exactly `desc.size` bytes when
 * this resolves), and check its diff_id. Resolves to the bytes read.
 */
async function checkBlob(
  source: ImageSource,
  { desc, diffId }: BlobCheck,
  signal: AbortSignal,
): Promise<number> {
  const stream = await source.openBlob(desc, { signal });
  if (!diffId) {
    await drain(stream);
    return desc.size;
  }
  let actual: string;
  try {
    // Loaded here: `ocipeek/image` loads no decompressor until a layer is checked.
    const { decompressStream } = await import('../compression/index.js');
    const tar = await decompressStream(stream, { mediaType: desc.mediaType, signal });
    const { algorithm } = parseDigest(diffId);
    const hash = createDigester(algorithm);
    for await (const chunk of tar) hash.update(chunk as Buffer);
    actual = `${algorithm}:${hash.digest('hex')}`;
  } catch (err) {
    // Only a decompression failure is about the content; a digest or size error of the
    // compressed bytes (or a failed read) is the blob's own problem.
    if (!isOcipeekError(err, 'ERR_DECOMPRESSION')) throw err;
    // Damaged bytes often break the decompressor before the digest is reached: read the
    // blob again whole, so that case is reported as the corrupt blob it is.
    await drain(await source.openBlob(desc, { signal }));
    throw new DiffIdProblem(`cannot be decompressed: ${messageOf(err)}`);
  }
  if (actual !== diffId) {
    throw new DiffIdProblem(`uncompressed bytes hash to ${actual}, the config says ${diffId}`);
  }
  return desc.size;
}

/** A layer whose bytes are intact but whose content is not what the config says. */
class DiffIdProblem extends Error {}

function kindOf(err: unknown): ImageProblem['kind'] {
  if (err instanceof DiffIdProblem) return 'diff-id';
  if (isOcipeekError(err, 'ERR_NOT_FOUND') || (err as { code?: string })?.code === 'ENOENT') {
    return 'missing';
  }
  if (isOcipeekError(err) && /DIGEST_MISMATCH|SIZE_MISMATCH/.test(err.code)) return 'corrupt';
  if (isOcipeekError(err, 'ERR_INVALID_MANIFEST')) return 'invalid';
  return 'corrupt';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Read a verified stream to its end: reading is the check (it fails on a wrong size or digest). */
async function drain(stream: Readable): Promise<void> {
  for await (const _ of stream) {
    // Nothing to keep.
  }
}

async function readWhole(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Configs whose `rootfs.diff_ids` name the layers (not an artifact's config). */
function isImageConfigType(mediaType: string): boolean {
  return mediaType === MediaType.ociConfig || mediaType === MediaType.dockerConfig;
}
