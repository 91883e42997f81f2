import { NotFoundError } from '../errors/index.js';
import { LayoutSource } from '../layout/index.js';
import {
  type Descriptor,
  isIndex,
  MAX_MANIFEST_BYTES,
  MediaType,
  parseManifest,
} from '../media/index.js';
import type { Reference } from '../ref/index.js';
import { requiredOption } from '../util/required-option.js';
import type { Store } from './store.js';

/** Options of {@link storeSource}. */
export interface StoreSourceOptions {
  /** The store the image is read from. */
  store: Store;
}

/**
 * `store:REF` as an image source: the image the store names `ref` (by its full
 * reference), or for a digest reference the manifest blob the store holds. A reference
 * the store lacks is a `NotFoundError` on first use. Blobs are the store's files, which
 * it checked when it wrote them, so readers that verify another way may skip hashing.
 *
 * @example
 * ```ts
 * const source = storeSource(parseReference('alpine:3.19'), { store });
 * ```
 */
export function storeSource(ref: Reference, options: StoreSourceOptions): LayoutSource {
  const store = requiredOption(options, 'store', 'storeSource(ref, { store })');
  return new LayoutSource(store.layout, ref.toString(), {
    kind: 'store',
    description: `store:${ref}`,
    resolve: async (_layout, options) => {
      const found = ref.digest
        ? await storedByDigest(store, ref.digest, options.signal)
        : await store.resolve(ref, options);
      if (!found) throw new NotFoundError(`${ref} is not in the store ${store.dir}`);
      return found;
    },
  });
}

/** A digest reference is in the store when its manifest blob is. */
async function storedByDigest(
  store: Store,
  digest: string,
  signal?: AbortSignal,
): Promise<Descriptor | undefined> {
  const size = await store.hasBlob(digest);
  if (size === undefined) return undefined;
  const named = (await store.refs({ signal })).find((r) => r.descriptor.digest === digest);
  if (named) return named.descriptor;
  const m = parseManifest(await store.readBlob(digest, { signal, maxBytes: MAX_MANIFEST_BYTES }));
  const mediaType = m.mediaType ?? (isIndex(m) ? MediaType.ociIndex : MediaType.ociManifest);
  return { mediaType, digest, size };
}
