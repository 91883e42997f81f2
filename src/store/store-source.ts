import { NotFoundError } from '../errors/index.js';
import { LayoutSource, manifestByDigest } from '../layout/index.js';
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
        ? await manifestByDigest(store.layout, ref.digest, options)
        : await store.resolve(ref, options);
      if (!found) throw new NotFoundError(`${ref} is not in the store ${store.dir}`);
      return found;
    },
  });
}
