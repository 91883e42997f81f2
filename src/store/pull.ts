import { NotFoundError, PlatformNotFoundError } from '../errors/index.js';
import { type Descriptor, parseManifest } from '../media/index.js';
import { parseReference, type Reference } from '../ref/index.js';
import { type RegistryClient, RegistrySource } from '../registry/index.js';
import type { ImageSource } from '../source/index.js';
import { requiredOption } from '../util/required-option.js';
import { mapPool } from '../util/task-pool.js';
import {
  namedDescriptor,
  partialIndexOf,
  sourceDigestOf,
  storedRootPlan,
} from './partial-index.js';
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
  /** The client the image is fetched with. */
  client: RegistryClient;
  /** The store the image goes into. */
  store: Store;
  /** Default `missing`; see {@link PullPolicy}. */
  policy?: PullPolicy;
  /** Blobs downloaded at once (default {@link DEFAULT_PULL_CONCURRENCY}). */
  concurrency?: number;
  /**
   * With the client's trust policy, check an image found current in the store against it
   * (default true), with signatures from the registry: a policy changed since the image
   * was stored applies to every pull. `false` for images named as the store's own
   * (`store:REF`).
   */
  checkStored?: boolean;
  /** Progress events; the CLI draws bars from them. */
  onProgress?: (event: PullProgressEvent) => void;
  signal?: AbortSignal;
}

/** What {@link pullImage} did. */
export interface PullResult {
  /** The full reference the image is stored under. */
  reference: string;
  /** Digest the reference names in the registry (the index for a multi-platform image). */
  digest: string;
  /**
   * Digest of what the store names `reference`: `digest`, unless only some platforms of
   * an index were pulled; then an index holding those platforms only, so the store stays
   * a valid layout (every manifest it names is stored).
   */
  storedDigest: string;
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
 * Pull `ref` into `options.store` through `options.client`: the manifest(s), config and
 * layers, every byte verified, layers concurrently, then name it `ref` (full normalised
 * form) in `index.json`.
 *
 * For an index with `allPlatforms`, the index is stored as served, with every child.
 * With one platform, the name points at an index of the platforms pulled so far (this
 * one, and those earlier pulls of the same index stored), marked as cut from the
 * registry's (`PARTIAL_INDEX_ANNOTATION`): every manifest a name reaches is stored, so
 * `skopeo copy --all oci:STORE:REF` works, and once every child is there the registry's
 * index itself is named. `result.digest` is always what the reference resolves to.
 * Layers are stored exactly as served (gzip, zstd or plain); nothing is recompressed.
 *
 * @example
 * ```ts
 * await using client = new RegistryClient();
 * const store = await Store.open();
 * const result = await pullImage('docker.io/library/alpine:3.19', { client, store });
 * ```
 */
export async function pullImage(
  ref: Reference | string,
  options: PullOptions,
): Promise<PullResult> {
  const client = requiredOption(options, 'client', 'pullImage(ref, { client, store })');
  const store = requiredOption(options, 'store', 'pullImage(ref, { client, store })');
  const reference = typeof ref === 'string' ? parseReference(ref) : ref;
  const source = new RegistrySource(reference, { client });
  const name = refName(reference);
  const policy = options.policy ?? 'missing';
  const signal = options.signal;
  const stored = await store.resolve(name, { signal });
  const fromStore = (d: Descriptor) => readStoredManifest(store, d, signal);
  // A name holding some platforms of an index stands for that index (see partial-index.ts).
  const partialOf = partialIndexOf(stored);

  // The stored root, when the registry still serves it (or is not asked): it is reused.
  let current = false;
  if (stored && policy !== 'always') {
    current = policy !== 'newer' || reference.digest !== undefined;
    if (!current) {
      current = (await source.resolve({ signal })).digest === sourceDigestOf(stored);
      if (current) await recordTagCheck(store, name, sourceDigestOf(stored));
    }
    if (current) {
      // A partial index has every platform it names: all platforms are more than that.
      const local =
        partialOf && options.allPlatforms ? undefined : await planFromStore(store, stored, options);
      if (local) {
        // Nothing is read from the registry, so its source never asked the trust policy:
        // a policy changed since the image was stored applies now, as on every pull.
        if (options.checkStored !== false && client.trust) {
          await source.verifyHeld(await registryRoot(store, stored, source, client, signal), {
            signal,
          });
        }
        return summary(name, sourceDigestOf(stored), stored, local, { upToDate: true });
      }
      if (policy === 'never') {
        const more = partialOf
          ? ': it holds some platforms only (pull with --platform or --all-platforms)'
          : '';
        throw new NotFoundError(
          `${name} is in the store ${store.dir} but incomplete${more} (pull policy never)`,
        );
      }
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
      // The size of the bytes the digest checked (a partial index knows only the digest).
      descriptor: d
        ? { ...d, mediaType: d.mediaType || got.mediaType, size: got.bytes.length }
        : descriptor,
      bytes: got.bytes,
      manifest: parseManifest(got.bytes, got.mediaType),
    };
  };
  // A current stored root is read from the store; the index a partial one was cut from
  // is asked for by digest (the tag is not asked again).
  let known: Descriptor | undefined;
  if (current && stored) {
    known = partialOf ? { mediaType: stored.mediaType, digest: partialOf, size: -1 } : stored;
  }
  const root = await fetchManifest(known);
  const registryDigest = root.descriptor.digest;
  const pulled = await planPull(root, options, fetchManifest);
  // Platforms an earlier pull of the same index stored stay under the name.
  const earlier =
    partialOf === registryDigest
      ? await planFromStore(store, stored!, { allPlatforms: true, signal })
      : undefined;
  const plan = storedRootPlan(root, pulled, earlier);
  const named = namedDescriptor(plan.manifests.at(-1)!.descriptor);
  const result = summary(name, registryDigest, named, plan, { upToDate: false });

  // Pinned before anything is looked up in the store: a concurrent prune keeps these
  // blobs (or has finished before the lookups), so the tag below never finds one gone.
  const pin = await store.pin(
    [...plan.manifests.map((m) => m.descriptor.digest), ...plan.blobs.map((b) => b.digest)],
    { signal },
  );
  let tagChecked: Promise<void> | undefined;
  try {
    const counts = await storeContent(source, store, plan, options);
    bytesFetched += counts.bytes;
    result.layersFetched.push(...counts.fetched);
    await store.tag(name, named, {
      signal,
      require: [...plan.blobs, ...plan.manifests.map((m) => m.descriptor)],
    });
    // Best effort (it never rejects), beside the pin's release.
    if (!reference.digest) tagChecked = recordTagCheck(store, name, registryDigest);
  } finally {
    await Promise.all([pin.release(), tagChecked]);
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
    // A platform a partial index lacks is to be pulled, as a missing blob is.
    if (err instanceof NotFoundError || err instanceof PlatformNotFoundError) return undefined;
    throw err;
  }
}

function summary(
  name: string,
  digest: string,
  named: Descriptor,
  plan: PullPlan,
  flags: { upToDate: boolean },
): PullResult {
  return {
    reference: name,
    digest,
    storedDigest: named.digest,
    mediaType: named.mediaType,
    layersFetched: [],
    layersReused: plan.blobs.filter((b) => b.role === 'layer').map((b) => b.digest),
    bytesFetched: 0,
    manifests: [...plan.manifests].reverse().map((m) => m.descriptor.digest),
    platforms: plan.platforms,
    upToDate: flags.upToDate,
  };
}

/**
 * Download the blobs the store lacks, then store the manifests, all through one pool: the
 * manifests go in while the large blobs still download (they are pinned, and nothing
 * names them before the tag), so the work left after the last byte is the tag alone.
 * Queued after the blobs, they do not hold back a blob's request.
 */
async function storeContent(
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
  const download = async (blob: PullPlan['blobs'][number], signal: AbortSignal) => {
    const { digest, size } = blob;
    emit({ type: 'blob-start', digest, size, role: blob.role });
    const written = await store.writeBlob(
      blob,
      (offset, s) => source.openBlob(blob, { signal: s, offset }),
      {
        signal,
        sourceVerified: true,
        absent: true, // just looked up
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
  };
  const tasks: Array<(signal: AbortSignal) => Promise<unknown>> = [
    ...missing.map((blob) => (signal: AbortSignal) => download(blob, signal)),
    ...plan.manifests.map(
      (m) => (signal: AbortSignal) => store.putManifest(m.bytes, m.descriptor, { signal }),
    ),
  ];
  // The first failure aborts the other downloads (their `.partial` files stay, to resume).
  await mapPool(tasks, (task, signal) => task(signal), {
    concurrency: options.concurrency ?? DEFAULT_PULL_CONCURRENCY,
    signal: options.signal,
  });
  return { fetched, bytes };
}

/**
 * The registry's root of a stored image, as signed: the stored root itself, or, for a
 * name holding some platforms of an index, that index (by digest, from the registry, as
 * the store keeps only the cut one).
 */
async function registryRoot(
  store: Store,
  stored: Descriptor,
  source: RegistrySource,
  client: RegistryClient,
  signal: AbortSignal | undefined,
): Promise<{ digest: string; bytes: Buffer }> {
  const partial = partialIndexOf(stored);
  if (!partial)
    return {
      digest: stored.digest,
      bytes: (await readStoredManifest(store, stored, signal)).bytes,
    };
  const m = await client.getManifest(source.served.withDigest(partial), { signal });
  return { digest: m.digest, bytes: m.bytes };
}
