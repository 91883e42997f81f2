import { ImageFilesystem } from '../../fs/index.js';
import type { TarEntry } from '../../tar/index.js';
import {
  assembleTree,
  type BrowseNode,
  type Change,
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

/** Merged trees kept at once: the selected layer's and the one below it. */
const KEPT_MERGED = 3;

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
  private readonly changes = new Map<
    number,
    { changes: Map<string, Change>; deleted: NodeFields[] }
  >();

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

  /** The tree of layer `index` in `mode`. */
  async tree(index: number, mode: TreeMode, signal?: AbortSignal): Promise<BrowseNode> {
    const after = await this.mergedThrough(index, signal);
    const { changes, deleted } = await this.changesOf(index, signal);
    if (mode === 'aggregated') return assembleTree(fieldsOf(after), changes, () => undefined);
    const written: NodeFields[] = [];
    after.forEachEntry('/', (e) => {
      if (changes.has(e.path)) written.push(nodeFields(e));
    });
    const lookup = (path: string) =>
      after.exists(path, { follow: false }) ? nodeFields(after.lstat(path)) : undefined;
    return assembleTree([...written, ...deleted], changes, lookup);
  }

  /** What layer `index` changed, path by path. */
  async changesOf(index: number, signal?: AbortSignal) {
    const known = this.changes.get(index);
    if (known) return known;
    const before =
      index === 0
        ? new ImageFilesystem({ efficiency: false })
        : await this.mergedThrough(index - 1, signal);
    const after = await this.mergedThrough(index, signal);
    const found = layerChanges(before, after, index);
    this.changes.set(index, found);
    return found;
  }

  /** The image merged through layer `index`. */
  async mergedThrough(index: number, signal?: AbortSignal): Promise<ImageFilesystem> {
    if (index === this.layers.length - 1 && this.top) return this.top;
    const known = this.merged.get(index);
    if (known) {
      // Most recently used last: the first key is the one to drop.
      this.merged.delete(index);
      this.merged.set(index, known);
      return known;
    }
    const fs = new ImageFilesystem({ efficiency: false });
    for (let i = 0; i <= index; i++) {
      const layer = this.layers[i]!;
      await fs.applyLayer(layer.entries, i, layer.digest, { signal });
    }
    this.merged.set(index, fs);
    if (this.merged.size > KEPT_MERGED) this.merged.delete(this.merged.keys().next().value!);
    return fs;
  }
}
