import type { Descriptor } from '../media/index.js';
import { isIndex, MAX_MANIFEST_BYTES, MediaType, parseManifest } from '../media/index.js';
import type { OciLayout } from './oci-layout.js';

/**
 * The descriptor of manifest `digest` when `layout` holds its blob: the `index.json`
 * entry that names it if there is one (its media type and annotations as recorded), else
 * one made from the manifest itself. `undefined` when the blob is absent. A digest names
 * an image in a layout whether or not `index.json` lists it (a platform manifest, a
 * referrer), as a registry answers a pull by digest.
 */
export async function manifestByDigest(
  layout: OciLayout,
  digest: string,
  options: { signal?: AbortSignal } = {},
): Promise<Descriptor | undefined> {
  const { signal } = options;
  const size = await layout.hasBlob(digest);
  if (size === undefined) return undefined;
  const named = (await layout.refs({ signal })).find((r) => r.descriptor.digest === digest);
  if (named) return named.descriptor;
  const m = parseManifest(await layout.readBlob(digest, { signal, maxBytes: MAX_MANIFEST_BYTES }));
  const mediaType = m.mediaType ?? (isIndex(m) ? MediaType.ociIndex : MediaType.ociManifest);
  return { mediaType, digest, size };
}
