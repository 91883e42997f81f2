import { UnsupportedError } from '../errors/index.js';
import {
  type Descriptor,
  type ImageIndex,
  isForeignLayer,
  isIndex,
  type Manifest,
  type Platform,
  parseManifest,
} from '../media/index.js';
import { formatPlatform, hostPlatform, requirePlatform } from '../platform/index.js';
import { commitRoot, writeOrAbort } from '../source/destination-writes.js';
import type { BlobRole, ImageDestination, ImageSource, ManifestBytes } from '../source/index.js';
import { checkConcurrency, mapPool } from '../util/task-pool.js';
import { rewriteIndex, selectEntries } from './select-platforms.js';

/** What happened to one blob, reported through {@link CopyImageOptions.onProgress}. */
export interface CopyProgress {
  digest: string;
  size: number;
  role: BlobRole;
  /** `skipped`: the destination had it; `mounted`: mounted from the source repository. */
  state: 'started' | 'progress' | 'done' | 'skipped' | 'mounted';
  /** Bytes moved so far for this blob. */
  bytes: number;
}

/** Options of {@link copyImage}. */
export interface CopyImageOptions {
  /**
   * From an index, copy only this platform's image manifest (the index itself is not
   * copied). Default when neither `platforms` nor `allPlatforms` is set: the host's.
   */
  platform?: Platform;
  /** From an index, keep these platforms: the index is rewritten, so its digest changes. */
  platforms?: Platform[];
  /** Copy an index whole, every manifest it lists (digests preserved). */
  allPlatforms?: boolean;
  /** Blobs moved at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (event: CopyProgress) => void;
}

/** What {@link copyImage} did. */
export interface CopyResult {
  /** The root digest at the source (after any index rewrite). */
  sourceDigest: string;
  /** The root digest as the destination holds it (differs only when it converts). */
  digest: string;
  mediaType: string;
  /** Platforms copied, when the source root was an index or a platform was picked. */
  platforms: string[];
  /** Digests of the manifests copied under the root (an index's images), children first. */
  manifests: string[];
  blobs: { copied: number; skipped: number; mounted: number };
  /** Blob bytes that actually moved. */
  bytesCopied: number;
}

/**
 * Copy an image between any two places. Manifests and blobs are copied byte for byte
 * (digests preserved) unless a platform subset rewrites the index or the destination
 * converts (docker-archive). Blobs stream from source to destination without touching
 * disk when both are registries; blobs the destination has are skipped, blobs in another
 * repository of the same registry are mounted. The root is named last, so a failed copy
 * never moves a tag.
 *
 * @example
 * ```ts
 * const src = await openSource('127.0.0.1:5000/app:1', { client });
 * const dst = await openDestination('oci-archive:/tmp/app.tar', { client });
 * const result = await copyImage(src, dst, { allPlatforms: true });
 * ```
 */
export async function copyImage(
  source: ImageSource,
  destination: ImageDestination,
  options: CopyImageOptions = {},
): Promise<CopyResult> {
  const { signal } = options;
  const concurrency = checkConcurrency(options.concurrency ?? 4);
  const wantsMany = options.allPlatforms || (options.platforms?.length ?? 0) > 1;
  if (wantsMany && destination.singleImage) {
    throw new UnsupportedError(
      `${destination.description} holds one image; pick one platform instead of several`,
    );
  }
  const result: CopyResult = {
    sourceDigest: '',
    digest: '',
    mediaType: '',
    platforms: [],
    manifests: [],
    blobs: { copied: 0, skipped: 0, mounted: 0 },
    bytesCopied: 0,
  };

  const copyBlob = async (
    { desc, role }: { desc: Descriptor; role: BlobRole },
    signal: AbortSignal,
  ): Promise<void> => {
    const report = (state: CopyProgress['state'], bytes: number) =>
      options.onProgress?.({ digest: desc.digest, size: desc.size, role, state, bytes });
    if (await destination.hasBlob(desc, { signal })) {
      result.blobs.skipped++;
      report('skipped', 0);
      return;
    }
    if (source.location && destination.mountBlob) {
      if (await destination.mountBlob(desc, source.location, { signal })) {
        result.blobs.mounted++;
        report('mounted', 0);
        return;
      }
    }
    report('started', 0);
    const stream = await source.openBlob(desc, { signal });
    let moved = 0;
    try {
      await destination.putBlob(desc, stream, {
        role,
        signal,
        onProgress: (bytes) => {
          moved = bytes;
          report('progress', bytes);
        },
      });
    } finally {
      if (!stream.destroyed) stream.destroy();
    }
    result.blobs.copied++;
    result.bytesCopied += desc.size;
    report('done', moved || desc.size);
  };

  return writeOrAbort(destination, async () => {
    let root = await source.root({ signal });
    let parsed = parseManifest(root.bytes, root.mediaType);
    if (isIndex(parsed)) {
      ({ root, parsed } = await narrowIndex(source, root, parsed, options, signal));
      result.platforms = platformsOf(parsed);
    } else if (options.platform) {
      result.platforms = [formatPlatform(options.platform)];
    }
    if (isIndex(parsed) && destination.singleImage) {
      throw new UnsupportedError(`${destination.description} cannot hold an image index`);
    }
    result.sourceDigest = root.digest;
    result.mediaType = root.mediaType;
    const plan = await planCopy(source, root, parsed, signal);
    // Every blob of every manifest in one pool: one transfer per digest, however many
    // manifests share it, and small images of an index do not wait for each other. The
    // first blob goes alone: it settles per-registry state (the token, the loopback
    // HTTPS-or-HTTP probe) once instead of in a race between parallel first requests.
    const [first, ...rest] = plan.blobs;
    const pool = { concurrency, signal };
    if (first) await mapPool([first], copyBlob, pool);
    await mapPool(rest, copyBlob, pool);
    for (const m of plan.children) await destination.putManifest(m, { root: false, signal });
    result.manifests = plan.children.map((m) => m.digest);
    result.digest = await commitRoot(destination, root, signal);
    return result;
  });
}

/** What a copy moves: blobs (deduplicated) and child manifests, children before parents. */
interface CopyPlan {
  blobs: Array<{ desc: Descriptor; role: BlobRole }>;
  children: ManifestBytes[];
}

/** Fetch every manifest under `root` and list the blobs they need. */
async function planCopy(
  source: ImageSource,
  root: ManifestBytes,
  parsed: Manifest,
  signal: AbortSignal | undefined,
): Promise<CopyPlan> {
  const plan: CopyPlan = { blobs: [], children: [] };
  const seenBlobs = new Set<string>();
  const seenManifests = new Set<string>([root.digest]);
  const addBlob = (desc: Descriptor, role: BlobRole) => {
    if (seenBlobs.has(desc.digest) || isForeignLayer(desc)) return;
    seenBlobs.add(desc.digest);
    plan.blobs.push({ desc, role });
  };
  const visit = async (m: Manifest): Promise<void> => {
    if (!isIndex(m)) {
      addBlob(m.config, 'config');
      for (const layer of m.layers) addBlob(layer, 'layer');
      return;
    }
    for (const child of m.manifests) {
      if (seenManifests.has(child.digest)) continue;
      seenManifests.add(child.digest);
      const cm = await source.manifest(child, { signal });
      await visit(parseManifest(cm.bytes, cm.mediaType));
      plan.children.push(cm);
    }
  };
  await visit(parsed);
  return plan;
}

function platformsOf(parsed: Manifest): string[] {
  if (!isIndex(parsed)) return [];
  return parsed.manifests
    .filter((d) => d.platform && d.platform.os !== 'unknown')
    .map((d) => formatPlatform(d.platform!));
}

/**
 * Apply the platform options to an index root: all of it, a rewritten subset, or one
 * image manifest (the host's by default).
 */
async function narrowIndex(
  source: ImageSource,
  root: ManifestBytes,
  index: ImageIndex,
  options: CopyImageOptions,
  signal: AbortSignal | undefined,
): Promise<{ root: ManifestBytes; parsed: Manifest }> {
  if (options.allPlatforms) return { root, parsed: index };
  if (options.platforms && options.platforms.length > 1) {
    const entries = selectEntries(index, options.platforms);
    const rewritten = rewriteIndex(root, index, entries);
    return { root: rewritten, parsed: { ...index, manifests: entries } };
  }
  const wanted = options.platforms?.[0] ?? options.platform ?? hostPlatform();
  const child = await source.manifest(requirePlatform(index.manifests, wanted), { signal });
  return { root: child, parsed: parseManifest(child.bytes, child.mediaType) };
}
