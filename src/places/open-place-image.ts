import {
  InvalidArgumentError,
  NotFoundError,
  OcipeekError,
  PlatformNotFoundError,
} from '../errors/index.js';
import type { LayoutSource } from '../layout/index.js';
import { isIndexMediaType, type Platform } from '../media/index.js';
import type { RegistryClient } from '../registry/index.js';
import {
  type ImageSource,
  type OpenedImage,
  openImage,
  type Place,
  parsePlace,
  resolveImage,
} from '../source/index.js';
import type { PullPolicy, Store } from '../store/index.js';
import { partialIndexOf, sourceDigestOf } from '../store/partial-index.js';
import { type OpenPlaceOptions, openSource, stores } from './open-place.js';
import { placeCandidates } from './resolve-place-reference.js';

/** Which source serves a bare reference, and why (see {@link OpenPlaceImageOptions.onSource}). */
export interface SourceChoice {
  source: 'store' | 'registry';
  /**
   * - `not-stored`: the store lacks the image (or there is no store);
   * - `stored`: the store holds it and is trusted without asking (a digest reference, or
   *   policy `missing`);
   * - `tag-current`: one HEAD found the tag where the store has it;
   * - `tag-moved`: one HEAD found another digest, so the registry serves the new image
   *   (or, with `refreshStore`, the store once the new image is pulled into it);
   * - `registry-failed`: the HEAD failed (`error`), so the store's copy is read, last
   *   confirmed at `checkedAt` when the store knows;
   * - `offline`: policy `never`, the registry is not asked;
   * - `remote`: `docker://` or policy `always`, the store is not looked at;
   * - `partial`: the store holds only some platforms of the tag's index, and the caller
   *   asked for the whole of it (`wholeIndex`).
   */
  reason:
    | 'not-stored'
    | 'partial'
    | 'stored'
    | 'tag-current'
    | 'tag-moved'
    | 'registry-failed'
    | 'offline'
    | 'remote';
  /** The digest the registry named for the tag, when it was asked. */
  digest?: string;
  /** Why the registry could not be asked (`registry-failed`), or the store not updated. */
  error?: OcipeekError;
  /** `tag-moved` with `refreshStore`: the new image was pulled into the store, read there. */
  storeUpdated?: boolean;
  /** When the tag was last confirmed by its registry (`registry-failed`), if known. */
  checkedAt?: Date;
}

/** Options of {@link openPlaceSource} and {@link openPlaceImage}. */
export interface OpenPlaceImageOptions extends OpenPlaceOptions {
  /** Platform to choose from an index (default: this host's). */
  platform?: Platform;
  /**
   * For a bare reference (not `docker://`): the store to look in first. When it holds
   * the image (the chosen platform's manifest and config included), `policy` decides
   * whether the registry is asked.
   */
  store?: Store;
  /**
   * For a bare reference the store holds, as in `pullImage`: `missing` (default) reads
   * the store without asking; `newer` sends one HEAD for a tag and reads the registry when
   * the tag moved, the store when it did not or the registry cannot be asked; `always`
   * reads the registry; `never` reads only the store (a reference it lacks is a
   * `NotFoundError`).
   */
  policy?: PullPolicy;
  /**
   * With policy `newer`: when the tag moved, pull its new image into the store (as
   * `pull --policy newer` would) and read it from there, so the store's copy follows the
   * registry. A store that cannot be written leaves the registry to be read.
   */
  refreshStore?: boolean;
  /** Told which source was chosen and why (the CLI's `--verbose` and its warnings). */
  onSource?: (choice: SourceChoice) => void;
  /**
   * The caller reads the root as the registry serves it (its digest, its manifest, every
   * platform), not one platform: a stored index cut to the platforms pulled is not it,
   * so the registry is read (offline: a `NotFoundError` saying to pull every platform).
   */
  wholeIndex?: boolean;
}

/**
 * Open the place an image is read from (any form {@link parsePlace} reads). A bare
 * reference is read from `options.store` or its registry as `options.policy` says;
 * `docker://REF` always from the registry, `store:REF` only from the store. Close the
 * source after.
 */
export async function openPlaceSource(
  place: Place | string,
  options: OpenPlaceImageOptions = {},
): Promise<ImageSource> {
  const p = typeof place === 'string' ? parsePlace(place) : place;
  if (p.kind !== 'registry') return openSource(p, options);
  const policy = options.policy ?? 'missing';
  const tell = options.onSource ?? (() => {});
  const store = options.store;
  if (policy === 'never' && p.explicit) {
    throw new InvalidArgumentError(
      `docker://${p.ref} names the registry, which offline use never asks`,
    );
  }
  if (p.explicit || policy === 'always') {
    tell({ source: 'registry', reason: 'remote' });
    return openSource(p, options);
  }
  // A short name may stand for several references (registries.conf): the first stored wins.
  let stored: LayoutSource | undefined;
  let storedPlace = p;
  let partial = false;
  if (store) {
    // A store given means its module is loaded already: this import only names it.
    const { storeSource } = await stores();
    for (const ref of placeCandidates(p, options.client)) {
      const candidate = storeSource(ref, { store });
      const holds = await holdsImage(candidate, options);
      partial ||= holds === 'partial';
      if (holds === true) {
        stored = candidate;
        storedPlace = { ...p, ref };
        break;
      }
    }
  }
  if (!store || !stored) {
    if (policy === 'never') {
      const where = store ? `the store ${store.dir}` : 'the store (there is none)';
      throw new NotFoundError(
        partial
          ? `${p.ref}: ${where} holds only some platforms of its index, and offline use never asks the registry (pull it with --all-platforms)`
          : `${p.ref} is not in ${where}, and offline use never asks the registry`,
      );
    }
    tell({ source: 'registry', reason: partial ? 'partial' : 'not-stored' });
    return openSource(p, options);
  }
  if (policy !== 'newer' || p.ref.digest) {
    tell({ source: 'store', reason: policy === 'never' ? 'offline' : 'stored' });
    return stored;
  }
  return revalidateTag(storedPlace, store, stored, options);
}

/**
 * The store holds the tag: one HEAD tells whether the registry still serves it. The
 * store's copy is read when it does, or when the registry cannot be asked (said through
 * `onSource`); the registry's image when the tag moved.
 */
async function revalidateTag(
  place: Place & { kind: 'registry' },
  store: Store,
  stored: LayoutSource,
  options: OpenPlaceImageOptions,
): Promise<ImageSource> {
  const tell = options.onSource ?? (() => {});
  const { signal } = options;
  const { lastTagCheck, recordTagCheck, refName, storeSource } = await stores();
  const name = refName(place.ref);
  // The entry `holdsImage` found: asking the store again would read index.json once more.
  // A partial index (some platforms of the registry's) stands for the index it was cut from.
  const local = sourceDigestOf(await stored.rootEntry({ signal }));
  let remote: string;
  try {
    if (!options.client) throw new InvalidArgumentError('a registry place needs a RegistryClient');
    remote = (await options.client.headManifest(place.ref, { signal })).digest;
  } catch (err) {
    if (signal?.aborted || !(err instanceof OcipeekError)) throw err;
    if (err instanceof InvalidArgumentError) throw err;
    const checkedAt = await lastTagCheck(store, name, local);
    tell({ source: 'store', reason: 'registry-failed', error: err, checkedAt });
    return stored;
  }
  if (remote === local) {
    await recordTagCheck(store, name, remote);
    tell({ source: 'store', reason: 'tag-current', digest: remote });
    return stored;
  }
  await stored.close();
  if (options.refreshStore && options.client) {
    const error = await refreshStoredTag(place, store, options);
    if (!error) {
      await recordTagCheck(store, name, remote);
      tell({ source: 'store', reason: 'tag-moved', digest: remote, storeUpdated: true });
      return storeSource(place.ref, { store });
    }
    tell({ source: 'registry', reason: 'tag-moved', digest: remote, error });
    return openSource(place, options);
  }
  tell({ source: 'registry', reason: 'tag-moved', digest: remote });
  return openSource(place, options);
}

/**
 * Pull the tag's new image into the store, as the stored copy was pulled: every platform
 * when the store held the registry's whole index, else the chosen platform (earlier
 * platforms of a partial index are not carried over: they belong to the old index).
 * Returns the error a store that cannot be written gave (the caller reads the registry).
 */
async function refreshStoredTag(
  place: Place & { kind: 'registry' },
  store: Store,
  options: OpenPlaceImageOptions,
): Promise<OcipeekError | undefined> {
  const { signal } = options;
  const found = await store.resolve(place.ref, { signal });
  const allPlatforms = isIndexMediaType(found?.mediaType) && !partialIndexOf(found);
  const { pullImage } = await stores();
  try {
    await pullImage(place.ref, {
      client: options.client as RegistryClient,
      store,
      platform: options.platform,
      allPlatforms,
      policy: 'always',
      signal,
    });
    return undefined;
  } catch (err) {
    if (signal?.aborted || !(err instanceof OcipeekError)) throw err;
    return err;
  }
}

/**
 * Whether the stored `source` has everything to resolve the image (manifests and
 * config); `partial` when it is an index cut to some platforms and `wholeIndex` asks
 * for all of them.
 */
async function holdsImage(
  source: LayoutSource,
  options: OpenPlaceImageOptions,
): Promise<boolean | 'partial'> {
  try {
    if (options.wholeIndex && partialIndexOf(await source.rootEntry(options))) return 'partial';
    await resolveImage(source, { platform: options.platform, signal: options.signal });
    return true;
  } catch (err) {
    // A platform the stored index lacks (the store keeps the platforms pulled): the registry.
    if (err instanceof NotFoundError || err instanceof PlatformNotFoundError) return false;
    throw err;
  }
}

/**
 * Open the image a place names, resolved to one platform, for reading its layers (see
 * {@link openPlaceSource} for where a bare reference is read from). This is how every
 * command that reads an image's files opens it. Close the image after.
 *
 * @example
 * ```ts
 * const image = await openPlaceImage('oci-archive:/tmp/app.tar');
 * try {
 *   console.log(image.manifestDigest, image.layers.length);
 * } finally {
 *   await image.close();
 * }
 * ```
 */
export async function openPlaceImage(
  place: Place | string,
  options: OpenPlaceImageOptions = {},
): Promise<OpenedImage> {
  const source = await openPlaceSource(place, options);
  try {
    return await openImage(source, { platform: options.platform, signal: options.signal });
  } catch (err) {
    await source.close();
    throw err;
  }
}
