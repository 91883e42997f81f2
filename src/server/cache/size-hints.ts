import { isIndex, type Manifest } from '../../media/index.js';
import { remember } from './remember.js';

/** Sizes remembered at most; the oldest are forgotten first. */
const MAX_HINTS = 100_000;

/**
 * Blob sizes the cache learnt from the manifests it served, per repository: a client
 * that fetched a manifest through the cache then asks for its blobs, and a blob's size
 * must be known before the answer starts (`Content-Length`). With a hint, an uncached
 * blob needs no HEAD upstream; without one, the cache asks.
 */
export class SizeHints {
  private readonly sizes = new Map<string, number>();

  /** Remember the sizes of what `manifest` of repository `name` references. */
  learn(name: string, manifest: Manifest): void {
    const refs = isIndex(manifest) ? manifest.manifests : [manifest.config, ...manifest.layers];
    for (const d of refs) {
      if (typeof d?.digest !== 'string' || !Number.isSafeInteger(d.size) || d.size < 0) continue;
      remember(this.sizes, `${name}@${d.digest}`, d.size, MAX_HINTS);
    }
  }

  /** The size of blob `digest` of repository `name`, when a manifest of it said. */
  of(name: string, digest: string): number | undefined {
    return this.sizes.get(`${name}@${digest}`);
  }
}
