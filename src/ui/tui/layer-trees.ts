import { ImageFilesystem } from '../../fs/index.js';
import type { TarEntry } from '../../tar/index.js';
import type { BrowseNode } from './browse-tree.js';
import { type CompactTree, NameTable, TreeBuilder, treeOfView } from './compact-tree.js';
import { compareLayers } from './layer-changes.js';

/** How the tree pane shows the selected layer. */
export type TreeMode = 'aggregated' | 'layer';

/**
 * One layer's tar entries, as the filesystem view applies them: held, or read when a
 * merged view is built (from the listing cache: the entries of every layer held at once
 * weigh ~10 MB for 50k paths, and are needed only while a view is built).
 */
export interface LayerEntries {
  digest: string;
  entries: readonly TarEntry[] | (() => Promise<readonly TarEntry[]>);
}

/**
 * Merged trees kept, counted in nodes (~42 bytes each with their share of the arrays):
 * ~20 MB, every layer of a 50k-path image of ten layers; past it the least recently used
 * go, and are built again from the entries when asked.
 */
const KEPT_MERGED_NODES = 500_000;
/** Trees shown kept at once, so that going back to a layer (or mode) just seen costs nothing. */
const KEPT_TREES = 4;

/**
 * The trees the browser shows, built on demand from the layers' entries: the image merged
 * through a layer (`aggregated`: what a container of the image up to that layer sees, the
 * layer's changes marked) or only what that layer changed (`layer`: its additions and
 * modifications, and the paths it deleted). Both come from the filesystem view's layer
 * rules, so they agree with `ocipeek ls` and `ocipeek layers`.
 *
 * Memory is bounded: no merged view is kept but the top one given. A view through layer N
 * is built from the entries, layers 0..N applied, and only its compact tree is kept (of N
 * and of every layer passed on the way, as far as {@link KEPT_MERGED_NODES} allows); a
 * layer's changes are read off the compact trees below it and through it.
 */
export class LayerTrees {
  private readonly names = new NameTable();
  private readonly merged = new Map<number, CompactTree>();
  private mergedNodes = 0;
  private readonly trees = new Map<string, BrowseNode>();

  /**
   * @param layers every layer's entries, bottom first
   * @param top the merged view of all layers, when already built (never rebuilt)
   */
  constructor(
    private readonly layers: readonly LayerEntries[],
    private readonly top?: ImageFilesystem,
  ) {}

  get layerCount(): number {
    return this.layers.length;
  }

  /** The tree of layer `index` in `mode` (the same object while it is kept). */
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
    const before =
      index === 0
        ? new TreeBuilder(this.names).finish()
        : await this.mergedThrough(index - 1, signal);
    // Marks the layer's changes in `after` too (again, the same, when it was compared before).
    const own = compareLayers(before, after, index);
    return (mode === 'aggregated' ? after : own).node(0);
  }

  /** The compact tree of the image merged through layer `index`. */
  private async mergedThrough(index: number, signal?: AbortSignal): Promise<CompactTree> {
    const known = recent(this.merged, index);
    if (known) return known;
    if (index === this.layers.length - 1 && this.top) {
      return this.keepMerged(index, treeOfView(this.top, this.names));
    }
    const fs = new ImageFilesystem({ efficiency: false });
    let tree: CompactTree | undefined;
    for (let i = 0; i <= index; i++) {
      const layer = this.layers[i]!;
      const entries = typeof layer.entries === 'function' ? await layer.entries() : layer.entries;
      await fs.applyLayer(entries, i, layer.digest, { signal });
      // The layers passed on the way cost a walk of the view, and spare a rebuild later.
      if (i === index) tree = treeOfView(fs, this.names);
      else if (!this.merged.has(i)) this.keepMerged(i, treeOfView(fs, this.names));
    }
    return this.keepMerged(index, tree!);
  }

  private keepMerged(index: number, tree: CompactTree): CompactTree {
    this.merged.set(index, tree);
    this.mergedNodes += tree.count;
    for (const [i, old] of this.merged) {
      if (this.mergedNodes <= KEPT_MERGED_NODES || i === index) break;
      this.merged.delete(i);
      this.mergedNodes -= old.count;
    }
    return tree;
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
