import { isIndex, manifestMediaType } from './parse.js';
import type { Descriptor, Manifest } from './types.js';

/**
 * The descriptor the referrers API lists for `manifest` (stored as `digest`, `size`
 * bytes, announced as `mediaType`): its media type, `artifactType` (an image manifest
 * without one reports its config's media type, as the spec says) and annotations.
 */
export function referrerDescriptor(
  manifest: Manifest,
  digest: string,
  size: number,
  mediaType?: string,
): Descriptor {
  const out: Descriptor = { mediaType: manifestMediaType(manifest, mediaType), digest, size };
  const artifactType =
    manifest.artifactType ?? (isIndex(manifest) ? undefined : manifest.config.mediaType);
  if (artifactType) out.artifactType = artifactType;
  if (manifest.annotations) out.annotations = manifest.annotations;
  return out;
}
