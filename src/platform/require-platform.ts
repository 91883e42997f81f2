import { PlatformNotFoundError } from '../errors/index.js';
import type { Descriptor, Platform } from '../media/index.js';
import { choosePlatform, formatPlatform, hostPlatform, listPlatforms } from './platform.js';

/**
 * The index entry for `wanted` (the host's platform by default), chosen as
 * {@link choosePlatform} does, or a {@link PlatformNotFoundError} naming the platforms the
 * index offers. Every reader that picks one image from an index goes through this.
 */
export function requirePlatform(
  manifests: Descriptor[],
  wanted: Platform = hostPlatform(),
): Descriptor {
  const chosen = choosePlatform(manifests, wanted);
  if (!chosen) {
    throw new PlatformNotFoundError(
      formatPlatform(wanted),
      listPlatforms(manifests).map((p) => formatPlatform(p)),
    );
  }
  return chosen;
}
