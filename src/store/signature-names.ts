import { parseDigestTag } from '../digest/digest-tag.js';
import { REF_NAME_ANNOTATION, tagOfRefName } from '../layout/ref-name.js';
import type { Descriptor } from '../media/index.js';
import { type BlobReader, contentGraph } from './content-graph.js';

/*
 * The store keeps an image's sigstore signatures as `copy` stores them, as a registry
 * does: an attachment manifest named `REPOSITORY:sha256-<hex>.sig` beside the image. Such a
 * name belongs to its image, so `rmi` and `prune` remove it once no other name of that
 * repository reaches the signed digest (the image itself, or a platform manifest of an
 * index it names: `copy --all-platforms` stores those signatures too).
 */

/** The repository of a stored name (`REPO:TAG` or `REPO@DIGEST`). */
function repositoryOf(name: string): string {
  const at = name.indexOf('@');
  if (at >= 0) return name.slice(0, at);
  const tag = tagOfRefName(name);
  // A bare name (no `/`, no `:`) is its own tag to tagOfRefName, and no repository here.
  return tag === undefined || tag === name ? name : name.slice(0, name.length - tag.length - 1);
}

/** The digest a signature name signs, or undefined when `name` is no signature name. */
function signedDigest(name: string): { repository: string; digest: string } | undefined {
  const tag = name.includes('@') ? undefined : tagOfRefName(name);
  const parsed = tag === undefined ? undefined : parseDigestTag(tag);
  return parsed?.suffix === 'sig'
    ? { repository: repositoryOf(name), digest: parsed.subject }
    : undefined;
}

/** The name a store's `index.json` entry has (empty when it has none). */
export function nameOf(d: Descriptor): string {
  return d.annotations?.[REF_NAME_ANNOTATION] ?? '';
}

/**
 * The signature names among `manifests` (the store's `index.json` entries) whose image no
 * other name of their repository reaches any more.
 */
export async function orphanSignatureNames(
  layout: BlobReader,
  manifests: readonly Descriptor[],
  options: { signal?: AbortSignal } = {},
): Promise<Set<string>> {
  const signatures = new Map<string, { repository: string; digest: string }>();
  for (const d of manifests) {
    const name = nameOf(d);
    const signed = signedDigest(name);
    if (signed) signatures.set(name, signed);
  }
  const orphans = new Set<string>();
  if (signatures.size === 0) return orphans;
  const wanted = new Set([...signatures.values()].map((s) => s.repository));
  // What the other names of those repositories reach (manifests are read, not layers).
  const reached = new Map<string, Set<string>>();
  for (const d of manifests) {
    const name = nameOf(d);
    if (name === '' || signatures.has(name)) continue;
    const repository = repositoryOf(name);
    if (!wanted.has(repository)) continue;
    const graph = await contentGraph(layout, d, options);
    const set = reached.get(repository) ?? new Set<string>();
    for (const digest of graph.nodes.keys()) set.add(digest);
    reached.set(repository, set);
  }
  for (const [name, { repository, digest }] of signatures) {
    if (!reached.get(repository)?.has(digest)) orphans.add(name);
  }
  return orphans;
}
