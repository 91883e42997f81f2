import { ImageFilesystem } from '../../fs/index.js';
import type { TarEntry } from '../../tar/index.js';
import {
  assembleTree,
  type BrowseNode,
  fieldsOf,
  layerChanges,
  type NodeFields,
  nodeFields,
} from './browse-tree.js';

/** How the tree pane shows the selected layer. */
export type TreeMode = 'aggregated' | 'layer';

/** One layer's tar entries, as the filesystem view applies them. */
export interface LayerEntries {
  digest: string;
  entries: readonly TarEntry[];
}

type LayerChanges = ReturnType<typeof layerChanges>;

/** Merged views kept at once: the selected layer's and the one below it, and one more. */
const KEPT_MERGED = 3;
/** Trees kept at once, so that going back to a layer (or mode) just seen costs nothing. */
const KEPT_TREES = 4;

/**
 * The trees the browser shows, built on demand from the layers' entries: the image merged
 * through a layer (`aggregated`: what a container of the image up to that layer sees, the
 * layer's changes marked) or only what that layer changed (`layer`: its additions and
 * modifications, and the paths it deleted). Both come from the filesystem view's layer
 * rules, so they agree with `ocipeek ls` and `ocipeek layers`. A few merged views and each
 * layer's changes are kept; the rest is rebuilt from the entries when asked again.
 */
export class LayerTrees {
  private readonly merged = new Map<number, ImageFilesystem>();
  private readonly trees = new Map<string, BrowseNode>();
  private readonly changes = new Map<number, LayerChanges>();

  /**
   * @param layers every layer's entries, bottom first
   * @param top the merged view of all layers, when already built (kept, never rebuilt)
   */
  constructor(
    private readonly layers: readonly LayerEntries[],
    private readonly top?: ImageFilesystem,
  ) {}

  get layerCount(): number {
    return this.layers.length;
  }

  /** The tree of layer `index` in `mode` (the same object while it is kept: do not change it). */
  async tree(index: number, mode: TreeMode, signal?: AbortSignal): Promise<BrowseNode> {
    const key = `${index}:${mode}`;
    const tree = recent(this.trees, key) ?? (await this.buildTree(index, mode, signal));
    keep(this.trees, key, tree, KEPT_TREES);
    return tree;
  }

  private async buildTree(
    index: number,
    mode: TreeMode,
    signal?: AbortSignal,
  ): Promise<BrowseNode> {
    const after = await this.mergedThrough(index, signal);
    const { changes, deleted } = await this.changesOf(index, signal);
    if (mode === 'aggregated') return assembleTree(fieldsOf(after), changes, () => undefined);
    const written: NodeFields[] = [];
    after.forEachEntry('/', (e) => {
      if (changes.has(e.path)) written.push(nodeFields(e));
    });
    const lookup = (path: string) =>
      after.exists(path, { follow: false }) ? nodeFields(after.lstat(path)) : undefined;
    // The deleted paths' fields are kept with the layer's changes: copies become nodes.
    return assembleTree([...written, ...deleted.map((d) => ({ ...d }))], changes, lookup);
  }

  /** What layer `index` changed, path by path. */
  async changesOf(index: number, signal?: AbortSignal): Promise<LayerChanges> {
    const known = recent(this.changes, index);
    if (known) return known;
    const before =
      index === 0
        ? new ImageFilesystem({ efficiency: false })
        : await this.mergedThrough(index - 1, signal);
    const after = await this.mergedThrough(index, signal);
    const found = layerChanges(before, after, index);
    keep(this.changes, index, found, KEPT_MERGED);
    return found;
  }

  /** The image merged through layer `index`. */
  async mergedThrough(index: number, signal?: AbortSignal): Promise<ImageFilesystem> {
    if (index === this.layers.length - 1 && this.top) return this.top;
    const known = recent(this.merged, index);
    if (known) return known;
    const fs = new ImageFilesystem({ efficiency: false });
    for (let i = 0; i <= index; i++) {
      const layer = this.layers[i]!;
      await fs.applyLayer(layer.entries, i, layer.digest, { signal });
    }
    keep(this.merged, index, fs, KEPT_MERGED);
    return fs;
  }
}

/** The value kept under `key`, made the most recently used (maps keep insertion order). */
function recent<K, V>(map: Map<K, V>, key: K): V | undefined {
  const value = map.get(key);
  if (value !== undefined) {
    map.delete(key);
    map.set(key, value);
  }
  return value;
}

/** Keep `value` as the most recently used, dropping the least recently used past `limit`. */
function keep<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value as K);
}
