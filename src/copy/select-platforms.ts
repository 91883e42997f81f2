import { digestOf } from '../digest/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { Descriptor, ImageIndex, Platform } from '../media/index.js';
import { isAttestationEntry, requirePlatform } from '../platform/index.js';
import type { ManifestBytes } from '../source/index.js';

/** Annotation Docker's attestation manifests use to name the image they describe. */
const ATTESTATION_SUBJECT = 'vnd.docker.reference.digest';

/**
 * The entries of `index` for `platforms` (each chosen as `choosePlatform` would), plus
 * the attestation manifests that describe a kept entry. Throws `PlatformNotFoundError`
 * naming the first platform the index lacks.
 */
export function selectEntries(index: ImageIndex, platforms: Platform[]): Descriptor[] {
  if (platforms.length === 0) throw new InvalidArgumentError('no platform given');
  const chosen = new Set<string>();
  for (const p of platforms) {
    chosen.add(requirePlatform(index.manifests, p).digest);
  }
  return index.manifests.filter(
    (d) =>
      chosen.has(d.digest) ||
      (isAttestationEntry(d) && chosen.has(d.annotations?.[ATTESTATION_SUBJECT] ?? '')),
  );
}

/**
 * A new index holding only `entries`, every other field of `original` kept as it was.
 * Its bytes are new JSON, so its digest differs from the original's.
 */
export function rewriteIndex(
  original: ManifestBytes,
  index: ImageIndex,
  entries: Descriptor[],
): ManifestBytes {
  const bytes = Buffer.from(JSON.stringify({ ...index, manifests: entries }), 'utf8');
  return { bytes, mediaType: original.mediaType, digest: digestOf(bytes) };
}
