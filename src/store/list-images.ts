import { REF_NAME_ANNOTATION } from '../layout/index.js';
import type { Platform } from '../media/index.js';
import { formatPlatform, isAttestationEntry } from '../platform/index.js';
import { contentGraph } from './content-graph.js';
import type { Store } from './store.js';

/** Options of {@link listImages}. */
export interface ListImagesOptions {
  signal?: AbortSignal;
}

/** One named image in the store. */
export interface StoredImage {
  /** The full reference it is stored under. */
  reference: string;
  /** Digest of the manifest or index the name points at. */
  digest: string;
  mediaType: string;
  /** Platforms stored (`linux/amd64`, …): an index's children that are present. */
  platforms: string[];
  /** Bytes of every stored blob the image reaches (each once): manifests, configs, layers. */
  size: number;
  /** The config's `created` (of the first stored platform), if any. */
  created?: string;
  /** False when blobs it needs are missing (an interrupted pull, a damaged store). */
  complete: boolean;
}

function configPlatform(config: { os?: string; architecture?: string; variant?: string }) {
  if (!config.os || !config.architecture) return undefined;
  const p: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant) p.variant = config.variant;
  return p;
}

/** Every named entry of the store's `index.json`, described; in `index.json` order. */
export async function listImages(
  store: Store,
  options: ListImagesOptions = {},
): Promise<StoredImage[]> {
  const out: StoredImage[] = [];
  const index = await store.layout.index(options);
  for (const root of index.manifests) {
    const reference = root.annotations?.[REF_NAME_ANNOTATION];
    if (!reference) continue;
    const graph = await contentGraph(store.layout, root, options);
    let size = 0;
    let complete = true;
    for (const node of graph.nodes.values()) {
      if (node.present) size += node.descriptor.size;
      else if (!node.optional) complete = false;
    }
    const platforms: string[] = [];
    let created: string | undefined;
    for (const image of graph.images) {
      const node = graph.nodes.get(image.descriptor.digest);
      if (node && isAttestationEntry(node.descriptor)) continue;
      const p = node?.descriptor.platform ?? (image.config && configPlatform(image.config));
      if (p) platforms.push(formatPlatform(p));
      created ??= image.config?.created;
    }
    out.push({
      reference,
      digest: root.digest,
      mediaType: root.mediaType,
      platforms,
      size,
      created,
      complete,
    });
  }
  return out;
}
