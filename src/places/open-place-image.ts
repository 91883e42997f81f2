import { NotFoundError, PlatformNotFoundError } from '../errors/index.js';
import type { Platform } from '../media/index.js';
import {
  type ImageSource,
  type OpenedImage,
  openImage,
  type Place,
  parsePlace,
  resolveImage,
} from '../source/index.js';
import { type Store, storeSource } from '../store/index.js';
import { type OpenPlaceOptions, openSource } from './open-place.js';
import { placeCandidates } from './resolve-place-reference.js';

/** Options of {@link openPlaceSource} and {@link openPlaceImage}. */
export interface OpenPlaceImageOptions extends OpenPlaceOptions {
  /** Platform to choose from an index (default: this host's). */
  platform?: Platform;
  /**
   * For a bare reference (not `docker://`): the store to look in first. When it holds
   * the image (the chosen platform's manifest and config included), nothing is asked of
   * the registry; otherwise the registry is.
   */
  store?: Store;
}

/**
 * Open the place an image is read from (any form {@link parsePlace} reads). A bare
 * reference is read from `options.store` when the store holds the image, else from its
 * registry; `docker://REF` always from the registry, `store:REF` only from the store.
 * Close the source after.
 */
export async function openPlaceSource(
  place: Place | string,
  options: OpenPlaceImageOptions = {},
): Promise<ImageSource> {
  const p = typeof place === 'string' ? parsePlace(place) : place;
  if (p.kind === 'registry' && !p.explicit && options.store) {
    for (const ref of placeCandidates(p, options.client)) {
      const stored = storeSource(ref, { store: options.store });
      if (await holdsImage(stored, options)) return stored;
    }
  }
  return openSource(p, options);
}

/** Whether `source` has everything to resolve the image (manifests and config). */
async function holdsImage(source: ImageSource, options: OpenPlaceImageOptions): Promise<boolean> {
  try {
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
