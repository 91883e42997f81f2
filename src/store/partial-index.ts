import { digestOf } from '../digest/index.js';
import { type Descriptor, isIndex } from '../media/index.js';
import type { PlannedManifest, PullPlan } from './pull-plan.js';

/**
 * On a name in the store's `index.json`: the digest of the registry's index that the
 * named index was cut from, holding only the platforms pulled. The name stays a valid
 * layout entry (every manifest it reaches is stored, so `skopeo copy --all oci:STORE:REF`
 * works), and the annotation lets a later pull know what the registry's tag named.
 */
export const PARTIAL_INDEX_ANNOTATION = 'io.ocipeek.partial-index.of';

/** The registry digest a stored name stands for: the index it was cut from, else its own. */
export function sourceDigestOf(stored: Descriptor): string {
  return stored.annotations?.[PARTIAL_INDEX_ANNOTATION] ?? stored.digest;
}

/** The registry index `stored` was cut from, when it holds only some of its platforms. */
export function partialIndexOf(stored: Descriptor | undefined): string | undefined {
  return stored?.annotations?.[PARTIAL_INDEX_ANNOTATION];
}

/**
 * What a pull of index `root` stores under its name: `plan` as it is when the index is
 * not one or every child is stored (the index as served); otherwise a new index with the
 * children of `plan`, and of `earlier` (a previous partial pull of the same index, all
 * stored), in the original's order and with every other field kept, annotated with
 * {@link PARTIAL_INDEX_ANNOTATION}. The returned plan's root (last manifest) is what to
 * name; its manifests and blobs are the union of both plans'.
 */
export function storedRootPlan(
  root: PlannedManifest,
  plan: PullPlan,
  earlier: PullPlan | undefined,
): PullPlan {
  const merged = mergePlans(plan, earlier);
  if (!isIndex(root.manifest)) return plan;
  const stored = new Set(merged.manifests.map((m) => m.descriptor.digest));
  const children = root.manifest.manifests;
  const entries = children.filter((d) => stored.has(d.digest));
  if (entries.length === children.length) return merged;
  const bytes = Buffer.from(JSON.stringify({ ...root.manifest, manifests: entries }), 'utf8');
  const descriptor: Descriptor = {
    mediaType: root.descriptor.mediaType,
    digest: digestOf(bytes),
    size: bytes.length,
    annotations: { [PARTIAL_INDEX_ANNOTATION]: root.descriptor.digest },
  };
  const manifests = merged.manifests.filter((m) => m.descriptor.digest !== root.descriptor.digest);
  manifests.push({ descriptor, bytes, manifest: { ...root.manifest, manifests: entries } });
  return { ...merged, manifests };
}

/** `plan` with what `earlier` stored added (its root left out), each manifest and blob once. */
function mergePlans(plan: PullPlan, earlier: PullPlan | undefined): PullPlan {
  if (!earlier) return plan;
  const root = plan.manifests.at(-1)!;
  const seen = new Set(plan.manifests.map((m) => m.descriptor.digest));
  const earlierChildren = earlier.manifests
    .slice(0, -1)
    .filter((m) => !seen.has(m.descriptor.digest));
  const blobs = new Set(plan.blobs.map((b) => b.digest));
  return {
    manifests: [...earlierChildren, ...plan.manifests.slice(0, -1), root],
    blobs: [...plan.blobs, ...earlier.blobs.filter((b) => !blobs.has(b.digest))],
    platforms: [...new Set([...earlier.platforms, ...plan.platforms])],
  };
}

/** What `index.json` names for root `d`: its identity, and the partial mark if it has one. */
export function namedDescriptor(d: Descriptor): Descriptor {
  const { mediaType, digest, size } = d;
  const of = partialIndexOf(d);
  return of
    ? { mediaType, digest, size, annotations: { [PARTIAL_INDEX_ANNOTATION]: of } }
    : { mediaType, digest, size };
}
