import { InvalidManifestError } from '../errors/index.js';
import {
  type Descriptor,
  type ImageManifest,
  isImageManifestMediaType,
  isIndex,
  isIndexMediaType,
  MAX_MANIFEST_BYTES,
  type Manifest,
  type Platform,
  parseManifest,
} from '../media/index.js';
import { formatPlatform, isAttestationEntry, requirePlatform } from '../platform/index.js';
import type { Store } from './store.js';

/** A manifest or index with its exact bytes. */
export interface PlannedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
  manifest: Manifest;
}

/** Which manifests of an index a pull keeps. */
export interface PlatformSelection {
  /** The platform to keep from an index (default: the host's). */
  platform?: Platform;
  /** Keep every child of an index (attestations included, as `skopeo copy --all`). */
  allPlatforms?: boolean;
}

/** What a pull stores for one reference. */
export interface PullPlan {
  /** Every manifest and index to store, children before their parents, the root last. */
  manifests: PlannedManifest[];
  /** Config and layer blobs of the chosen images, each once, configs first. */
  blobs: Array<Descriptor & { role: 'config' | 'layer' }>;
  /** The platforms chosen (from index entries), formatted. */
  platforms: string[];
}

/** Fetches a child manifest by descriptor (from the store or the registry). */
export type ManifestGetter = (descriptor: Descriptor) => Promise<PlannedManifest>;

const MAX_DEPTH = 4;

/**
 * Decide what to store for `root`: for an index, the index itself plus the chosen
 * child (or all children with `allPlatforms`); then the configs and layers of those
 * images.
 */
export async function planPull(
  root: PlannedManifest,
  selection: PlatformSelection,
  getChild: ManifestGetter,
): Promise<PullPlan> {
  const plan: PullPlan = { manifests: [], blobs: [], platforms: [] };
  const seen = new Set<string>();
  const addBlob = (d: Descriptor, role: 'config' | 'layer') => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    plan.blobs.push({ mediaType: d.mediaType, digest: d.digest, size: d.size, role });
  };
  const images: ImageManifest[] = [];
  const visit = async (node: PlannedManifest, depth: number): Promise<void> => {
    if (!isIndex(node.manifest)) {
      images.push(node.manifest);
      plan.manifests.push(node);
      return;
    }
    if (depth >= MAX_DEPTH) {
      throw new InvalidManifestError(`index ${node.descriptor.digest} nests indexes too deeply`);
    }
    for (const child of chooseChildren(node.manifest.manifests, selection)) {
      if (child.platform && !isAttestationEntry(child)) {
        plan.platforms.push(formatPlatform(child.platform));
      }
      await visit(await getChild(child), depth + 1);
    }
    plan.manifests.push(node);
  };
  await visit(root, 0);
  for (const image of images) addBlob(image.config, 'config');
  for (const image of images) for (const layer of image.layers ?? []) addBlob(layer, 'layer');
  return plan;
}

function chooseChildren(manifests: Descriptor[], selection: PlatformSelection): Descriptor[] {
  const usable = manifests.filter(
    (d) => isImageManifestMediaType(d.mediaType) || isIndexMediaType(d.mediaType),
  );
  if (selection.allPlatforms) return usable;
  return [requirePlatform(usable, selection.platform)];
}

/** A manifest read from the store, verified (throws `NotFoundError` when absent). */
export async function readStoredManifest(
  store: Store,
  descriptor: Descriptor,
  signal?: AbortSignal,
): Promise<PlannedManifest> {
  const bytes = await store.readBlob(descriptor.digest, { signal, maxBytes: MAX_MANIFEST_BYTES });
  return { descriptor, bytes, manifest: parseManifest(bytes, descriptor.mediaType) };
}

/** True when every manifest and blob of `plan` is in the store. */
export async function planIsStored(store: Store, plan: PullPlan): Promise<boolean> {
  for (const d of [...plan.manifests.map((m) => m.descriptor), ...plan.blobs]) {
    if ((await store.hasBlob(d.digest)) !== d.size) return false;
  }
  return true;
}
