import { NotFoundError } from '../errors/index.js';
import { type Descriptor, parseManifest } from '../media/index.js';
import { parseReference, type Reference } from '../ref/index.js';
import { type RegistryClient, RegistrySource } from '../registry/index.js';
import type { ImageSource } from '../source/index.js';
import { mapPool } from '../util/task-pool.js';
import {
  type PlannedManifest,
  type PlatformSelection,
  type PullPlan,
  planIsStored,
  planPull,
  readStoredManifest,
} from './pull-plan.js';
import { refName, type Store } from './store.js';
import { recordTagCheck } from './tag-checks.js';

/**
 * When to ask the registry:
 * - `missing` (default): not at all when the reference is stored with everything the
 *   selection needs (a tag stored is trusted as it is, like `docker run --pull=missing`);
 * - `newer`: HEAD the tag (one request) and pull only when the digest moved or content is
 *   missing; the CLI's `pull` uses this, as `docker pull` checks for updates;
 * - `always`: GET the manifest every time (blobs already stored are still never fetched);
 * - `never`: only the store; a reference it lacks is a `NotFoundError`.
 */
export type PullPolicy = 'always' | 'missing' | 'newer' | 'never';

/** What happens during a pull, for progress displays. */
export type PullProgressEvent =
  /** The plan is known: every config and layer blob, and which are already stored. */
  | {
      type: 'plan';
      reference: string;
      digest: string;
      blobs: Array<{ digest: string; size: number; role: 'config' | 'layer'; stored: boolean }>;
    }
  /** A blob download begins (`resumedFrom` > 0 when a `.partial` file is resumed). */
  | { type: 'blob-start'; digest: string; size: number; role: 'config' | 'layer' }
  /** Bytes of the blob on disk so far. */
  | { type: 'blob-progress'; digest: string; bytes: number; size: number }
  /** Another process is downloading this blob; this pull waits for it. */
  | { type: 'blob-wait'; digest: string }
  /** The blob is stored; `fetched` is false when another process stored it meanwhile. */
  | { type: 'blob-done'; digest: string; size: number; fetched: boolean; bytesTransferred: number };

/** Options of {@link pullImage}. */
export interface PullOptions extends PlatformSelection {
  /** Default `missing`; see {@link PullPolicy}. */
  policy?: PullPolicy;
  /** Blobs downloaded at once (default {@link DEFAULT_PULL_CONCURRENCY}). */
  concurrency?: number;
  /** Progress events; the CLI draws bars from them. */
  onProgress?: (event: PullProgressEvent) => void;
  signal?: AbortSignal;
}

/** What {@link pullImage} did. */
export interface PullResult {
  /** The full reference the image is stored under. */
  reference: string;
  /** Digest of the stored root (the index for a multi-platform image). */
  digest: string;
  mediaType: string;
  /** Layer digests downloaded by this call. */
  layersFetched: string[];
  /** Layer digests that were already stored (or stored meanwhile by another process). */
  layersReused: string[];
  /** Body bytes received: blobs (resumed parts only) and manifests. */
  bytesFetched: number;
  /** Digests of the manifests and indexes stored for this reference, the root first. */
  manifests: string[];
  /** Platforms chosen from an index (empty for a single-manifest image). */
  platforms: string[];
  /** True when nothing was downloaded and `index.json` was not rewritten. */
  upToDate: boolean;
}

/**
 * Default download concurrency. Over loopback 2-6 parallel blobs perform alike (the disk
 * and the hashing bound the rate); 4 keeps a slow registry's per-connection limits busy
 * without opening many sockets.
 */
export const DEFAULT_PULL_CONCURRENCY = 4;

/**
 * Pull `ref` into `store`: the manifest(s), config and layers, every byte verified,
 * layers concurrently, then name it `ref` (full normalised form) in `index.json`.
 *
 * For an index, the index is stored as served (its digest is what the reference
 * resolves to) with the chosen platform's manifest, or every child with `allPlatforms`.
 * The name points at the index, so `skopeo copy oci:STORE:REF` and `resolve` see what
 * the registry serves, and another platform can be added later by pulling again.
 * Layers are stored exactly as served (gzip, zstd or plain); nothing is recompressed.
 */
export async function pullImage(
  client: RegistryClient,
  store: Store,
  ref: Reference | string,
  options: PullOptions = {},
): Promise<PullResult> {
  const reference = typeof ref === 'string' ? parseReference(ref) : ref;
  const source = new RegistrySource(client, reference);
  const name = refName(reference);
  const policy = options.policy ?? 'missing';
  const signal = options.signal;
  const stored = await store.resolve(name, { signal });
  const fromStore = (d: Descriptor) => readStoredManifest(store, d, signal);

  // The stored root, when the registry still serves it (or is not asked): it is reused.
  let known: Descriptor | undefined;
  if (stored && policy !== 'always') {
    let current = policy !== 'newer' || reference.digest !== undefined;
    if (!current) {
      current = (await source.resolve({ signal })).digest === stored.digest;
      if (current) await recordTagCheck(store, name, stored.digest);
    }
    if (current) {
      const local = await planFromStore(store, stored, options);
      if (local) return summary(name, stored, local, { upToDate: true });
      if (policy === 'never') {
        throw new NotFoundError(
          `${name} is in the store ${store.dir} but incomplete (pull policy never)`,
        );
      }
      known = stored;
    }
  } else if (policy === 'never') {
    throw new NotFoundError(`${name} is not in the store ${store.dir} (pull policy never)`);
  }

  let bytesFetched = 0;
  const fetchManifest = async (d: Descriptor | undefined): Promise<PlannedManifest> => {
    if (d && (await store.hasBlob(d.digest)) === d.size) return fromStore(d);
    const got = d ? await source.manifest(d, { signal }) : await source.root({ signal });
    bytesFetched += got.bytes.length;
    const descriptor = { mediaType: got.mediaType, digest: got.digest, size: got.bytes.length };
    return {
      descriptor: d ? { ...d, mediaType: d.mediaType || got.mediaType } : descriptor,
      bytes: got.bytes,
      manifest: parseManifest(got.bytes, got.mediaType),
    };
  };
  const root = await fetchManifest(known);
  const rootDescriptor: Descriptor = {
    mediaType: root.descriptor.mediaType,
    digest: root.descriptor.digest,
    size: root.descriptor.size,
  };
  const plan = await planPull(root, options, fetchManifest);
  const result = summary(name, rootDescriptor, plan, { upToDate: false });

  // Pinned before anything is looked up in the store: a concurrent prune keeps these
  // blobs (or has finished before the lookups), so the tag below never finds one gone.
  const pin = await store.pin(
    [...plan.manifests.map((m) => m.descriptor.digest), ...plan.blobs.map((b) => b.digest)],
    { signal },
  );
  try {
    const counts = await downloadBlobs(source, store, plan, options);
    bytesFetched += counts.bytes;
    result.layersFetched.push(...counts.fetched);
    for (const m of plan.manifests) await store.putManifest(m.bytes, m.descriptor, { signal });
    await store.tag(name, rootDescriptor, {
      signal,
      require: [...plan.blobs, ...plan.manifests.map((m) => m.descriptor)],
    });
    if (!reference.digest) await recordTagCheck(store, name, rootDescriptor.digest);
  } finally {
    await pin.release();
  }
  const fetched = new Set(result.layersFetched);
  result.layersFetched = [...fetched];
  result.layersReused = result.layersReused.filter((d) => !fetched.has(d));
  result.bytesFetched = bytesFetched;
  return result;
}

async function planFromStore(
  store: Store,
  stored: Descriptor,
  selection: PlatformSelection & { signal?: AbortSignal },
): Promise<PullPlan | undefined> {
  try {
    const get = (d: Descriptor) => readStoredManifest(store, d, selection.signal);
    const plan = await planPull(await get(stored), selection, get);
    return (await planIsStored(store, plan)) ? plan : undefined;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

function summary(
  name: string,
  root: Descriptor,
  plan: PullPlan,
  flags: { upToDate: boolean },
): PullResult {
  return {
    reference: name,
    digest: root.digest,
    mediaType: root.mediaType,
    layersFetched: [],
    layersReused: plan.blobs.filter((b) => b.role === 'layer').map((b) => b.digest),
    bytesFetched: 0,
    manifests: [...plan.manifests].reverse().map((m) => m.descriptor.digest),
    platforms: plan.platforms,
    upToDate: flags.upToDate,
  };
}

async function downloadBlobs(
  source: ImageSource,
  store: Store,
  plan: PullPlan,
  options: PullOptions,
): Promise<{ fetched: string[]; bytes: number }> {
  const emit = options.onProgress ?? (() => {});
  const stored = await Promise.all(
    plan.blobs.map(async (b) => (await store.hasBlob(b.digest)) === b.size),
  );
  emit({
    type: 'plan',
    reference: source.imageName ?? source.description,
    digest: plan.manifests.at(-1)?.descriptor.digest ?? '',
    blobs: plan.blobs.map((b, i) => ({
      digest: b.digest,
      size: b.size,
      role: b.role,
      stored: stored[i] ?? false,
    })),
  });
  const missing = plan.blobs.filter((_, i) => !stored[i]);
  const fetched: string[] = [];
  let bytes = 0;
  // The first failure aborts the other downloads (their `.partial` files stay, to resume).
  await mapPool(
    missing,
    async (blob, signal) => {
      const { digest, size } = blob;
      emit({ type: 'blob-start', digest, size, role: blob.role });
      const written = await store.writeBlob(
        blob,
        (offset, s) => source.openBlob(blob, { signal: s, offset }),
        {
          signal,
          sourceVerified: true,
          onProgress: (n) => emit({ type: 'blob-progress', digest, bytes: n, size }),
          onWait: () => emit({ type: 'blob-wait', digest }),
        },
      );
      bytes += written.bytesTransferred;
      if (written.written && blob.role === 'layer') fetched.push(digest);
      emit({
        type: 'blob-done',
        digest,
        size,
        fetched: written.written,
        bytesTransferred: written.bytesTransferred,
      });
    },
    { concurrency: options.concurrency ?? DEFAULT_PULL_CONCURRENCY, signal: options.signal },
  );
  return { fetched, bytes };
}
