import type { Descriptor } from '../media/index.js';
import { referrerDescriptor } from '../media/referrer-descriptor.js';
import type { OciLayout } from './oci-layout.js';
import { walkManifests } from './walk-manifests.js';

/** Options of {@link layoutReferrers}. */
export interface LayoutReferrersOptions {
  /** Only referrers with this `artifactType`. */
  artifactType?: string;
  signal?: AbortSignal;
}

/**
 * The manifests of `layout` whose `subject` is `digest`, as the referrers API lists them
 * (`referrerDescriptor`). A layout has no referrers index: every manifest reachable from
 * `index.json` is read (named or not; `walkManifests` bounds the walk), so a referrer is
 * found as long as `index.json` keeps it, as `artifact attach` and `sync` do.
 */
export async function layoutReferrers(
  layout: OciLayout,
  digest: string,
  options: LayoutReferrersOptions = {},
): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  for await (const m of walkManifests(layout, { signal: options.signal })) {
    if (m.manifest.subject?.digest !== digest) continue;
    const d = referrerDescriptor(
      m.manifest,
      m.descriptor.digest,
      m.bytes.length,
      m.descriptor.mediaType,
    );
    if (!options.artifactType || d.artifactType === options.artifactType) out.push(d);
  }
  return out;
}
