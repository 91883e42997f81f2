import type { Descriptor } from '../media/index.js';
import {
  isImageManifestMediaType,
  isIndex,
  isIndexMediaType,
  MAX_MANIFEST_BYTES,
  type Manifest,
  parseManifest,
} from '../media/index.js';
import type { OciLayout } from './oci-layout.js';

/** Options of {@link walkManifests}. */
export interface WalkManifestsOptions {
  /** Cancels the walk. */
  signal?: AbortSignal;
  /** Stop after this many manifests (default 10,000), so a huge layout cannot stall a caller. */
  limit?: number;
}

/** One manifest reachable from a layout's `index.json`. */
export interface LayoutManifest {
  /** The descriptor that pointed at it (from `index.json` or a parent index). */
  descriptor: Descriptor;
  /** The parsed manifest. */
  manifest: Manifest;
  /** The exact bytes, verified against the descriptor's digest. */
  bytes: Buffer;
}

/**
 * Every manifest and index reachable from `index.json`, each once, parents before
 * children. Entries whose blob is missing or not a manifest are skipped: layouts written
 * by `skopeo copy` without `--all` legitimately lack the other platforms' manifests.
 */
export async function* walkManifests(
  layout: OciLayout,
  options: WalkManifestsOptions = {},
): AsyncGenerator<LayoutManifest> {
  const limit = options.limit ?? 10_000;
  const index = await layout.index({ signal: options.signal });
  const queue: Descriptor[] = [...index.manifests];
  const seen = new Set<string>();
  let count = 0;
  while (queue.length > 0 && count < limit) {
    options.signal?.throwIfAborted();
    const descriptor = queue.shift() as Descriptor;
    if (seen.has(descriptor.digest)) continue;
    seen.add(descriptor.digest);
    const type = descriptor.mediaType;
    if (!isIndexMediaType(type) && !isImageManifestMediaType(type)) continue;
    if (descriptor.size > MAX_MANIFEST_BYTES) continue;
    let bytes: Buffer;
    let manifest: Manifest;
    try {
      bytes = await layout.readBlob(descriptor.digest, {
        signal: options.signal,
        maxBytes: MAX_MANIFEST_BYTES,
      });
      manifest = parseManifest(bytes, type);
    } catch (err) {
      if (options.signal?.aborted) throw err;
      continue;
    }
    count++;
    yield { descriptor, manifest, bytes };
    if (isIndex(manifest)) queue.push(...manifest.manifests);
  }
}
