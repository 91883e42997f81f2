import type { OciLayout } from '../layout/index.js';
import {
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  isImageManifestMediaType,
  isIndex,
  isIndexMediaType,
  MAX_MANIFEST_BYTES,
  type Manifest,
  parseImageConfig,
  parseManifest,
} from '../media/index.js';

/** How a blob is reached from a root. */
export type ContentRole = 'index' | 'manifest' | 'config' | 'layer' | 'subject' | 'blob';

/** One blob reachable from a root descriptor. */
export interface ContentNode {
  descriptor: Descriptor;
  role: ContentRole;
  /** Whether the store has it (with the descriptor's size). */
  present: boolean;
  /**
   * True when its absence is allowed: an index child (a pull of one platform keeps the
   * index as served but not the other platforms) or a subject.
   */
  optional: boolean;
  /** Digest of the manifest or index that points at it (none for the root). */
  parent?: string;
}

/** An image manifest found in the graph, with its config when the store has it. */
export interface ContentImage {
  descriptor: Descriptor;
  manifest: ImageManifest;
  config?: ImageConfig;
}

/** Everything reachable from one root, each blob once. */
export interface ContentGraph {
  nodes: Map<string, ContentNode>;
  images: ContentImage[];
  /** Manifests that are present but do not parse (reported by `validate`). */
  unreadable: Array<{ digest: string; reason: string }>;
}

/** Where the graph reads blobs: a layout, or any storage that answers the same two calls. */
export type BlobReader = Pick<OciLayout, 'hasBlob' | 'readBlob'>;

/** Configs are read for the graph up to this size (bigger ones are left out, not errors). */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * Walk from `root` through indexes and manifests to configs, layers and subjects,
 * noting which blobs the store holds. Blobs that are missing or unreadable end the walk
 * along that branch without throwing, so prune and validate see as much as there is.
 */
export async function contentGraph(
  layout: BlobReader,
  root: Descriptor,
  options: { signal?: AbortSignal } = {},
): Promise<ContentGraph> {
  const graph: ContentGraph = { nodes: new Map(), images: [], unreadable: [] };
  const queue: Array<{ d: Descriptor; role: ContentRole; optional: boolean; parent?: string }> = [
    { d: root, role: roleOf(root, 'blob'), optional: false },
  ];
  while (queue.length > 0) {
    options.signal?.throwIfAborted();
    const { d, role, optional, parent } = queue.shift()!;
    const known = graph.nodes.get(d.digest);
    if (known) {
      if (!optional) known.optional = false;
      continue;
    }
    const size = await layout.hasBlob(d.digest).catch(() => undefined);
    const present = size !== undefined && size === d.size;
    graph.nodes.set(d.digest, { descriptor: d, role, present, optional, parent });
    if (!present || (role !== 'index' && role !== 'manifest')) continue;
    let manifest: Manifest;
    try {
      const bytes = await layout.readBlob(d.digest, { maxBytes: MAX_MANIFEST_BYTES, ...options });
      manifest = parseManifest(bytes, d.mediaType);
    } catch (err) {
      if (options.signal?.aborted) throw err;
      graph.unreadable.push({ digest: d.digest, reason: (err as Error).message });
      continue;
    }
    if (manifest.subject) {
      queue.push({ d: manifest.subject, role: 'subject', optional: true, parent: d.digest });
    }
    if (isIndex(manifest)) {
      for (const child of manifest.manifests) {
        queue.push({ d: child, role: roleOf(child, 'blob'), optional: true, parent: d.digest });
      }
      continue;
    }
    const image: ContentImage = { descriptor: d, manifest };
    graph.images.push(image);
    queue.push({ d: manifest.config, role: 'config', optional: false, parent: d.digest });
    for (const layer of manifest.layers ?? []) {
      queue.push({ d: layer, role: 'layer', optional: false, parent: d.digest });
    }
    image.config = await readConfig(layout, manifest.config, options.signal);
  }
  return graph;
}

function roleOf(d: Descriptor, fallback: ContentRole): ContentRole {
  if (isIndexMediaType(d.mediaType)) return 'index';
  if (isImageManifestMediaType(d.mediaType)) return 'manifest';
  return fallback;
}

async function readConfig(
  layout: BlobReader,
  d: Descriptor,
  signal: AbortSignal | undefined,
): Promise<ImageConfig | undefined> {
  if (d.size > MAX_CONFIG_BYTES) return undefined;
  try {
    const bytes = await layout.readBlob(d.digest, { maxBytes: MAX_CONFIG_BYTES, signal });
    return parseImageConfig(bytes);
  } catch (err) {
    if (signal?.aborted) throw err;
    return undefined; // an artifact's config, or missing: not an error for the graph
  }
}
