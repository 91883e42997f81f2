import type { Descriptor } from '../../src/media/types.js';
import { pushLayoutHttp, walkLayout } from './registry-http.js';
import type { RunningRegistry } from './registry-process.js';
import { type SkopeoCopyOptions, skopeoPush } from './skopeo.js';

/** Options for {@link pushLayout}. */
export interface PushLayoutOptions extends SkopeoCopyOptions {
  /**
   * `skopeo` (skopeo copy), `http` (plain registry API calls, see `pushLayoutHttp`), or
   * `auto` (default): skopeo when it can (only OCI manifest/index types, only sha256
   * digests), HTTP otherwise.
   */
  method?: 'auto' | 'skopeo' | 'http';
}

const SKOPEO_ROOT_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
]);

/**
 * Push `refName` of the OCI layout at `layoutDir` to `registry` as `targetRef`
 * (`repo:tag`), preserving every digest, and resolve to the pushed root descriptor.
 *
 * @example
 * const w = new LayoutWriter(dir);
 * const img = await randomImage(w, { refName: 'v1' });
 * await w.finish();
 * await pushLayout(dir, 'v1', registry, 'demo/app:v1');
 */
export async function pushLayout(
  layoutDir: string,
  refName: string,
  registry: RunningRegistry,
  targetRef: string,
  options: PushLayoutOptions = {},
): Promise<Descriptor> {
  const { root, all } = await walkLayout(layoutDir, refName);
  let method = options.method ?? 'auto';
  if (method === 'auto') {
    const skopeoCan =
      SKOPEO_ROOT_TYPES.has(root.mediaType) &&
      all.every(({ descriptor }) => descriptor.digest.startsWith('sha256:'));
    method = skopeoCan ? 'skopeo' : 'http';
  }
  if (method === 'http') return pushLayoutHttp(layoutDir, refName, registry, targetRef, options);
  await skopeoPush(layoutDir, refName, registry, targetRef, options);
  const { annotations: _ignored, ...descriptor } = root;
  return descriptor;
}
