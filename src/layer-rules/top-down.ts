import type { TarEntry } from '../tar/index.js';
import type { FsNode } from './fs-node.js';
import { LayerRules } from './layer-rules.js';
import { assertRegularFile, lookup, type Resolved } from './lookup.js';

const ignore = () => {};

/**
 * Finds a path in an image reading as few layers as possible, from the top: the layers
 * read so far are applied with {@link LayerRules} over an unknown base, and a lookup
 * answers only once nothing below could change the answer (see `Knowledge`). Each
 * layer added below means the upper ones are applied again; `cat` rarely reads more than
 * two or three, and only their entries (no content) are kept.
 *
 * Refused entries are skipped, as the filesystem view skips them.
 */
export class TopDownSearch {
  private readonly layers: Array<readonly TarEntry[]>;
  private lowest: number;
  private rules: LayerRules | undefined;

  /** A search over an image of `layerCount` layers, none of them read yet. */
  constructor(readonly layerCount: number) {
    this.layers = new Array(layerCount);
    this.lowest = layerCount;
  }

  /** Index of the next layer to read (the one below those read); -1 once all are. */
  get nextLayer(): number {
    return this.lowest - 1;
  }

  /** Add the entries of layer {@link nextLayer}, in the layer's order. */
  addLayer(entries: readonly TarEntry[]): void {
    if (this.lowest === 0) throw new RangeError('every layer has been added already');
    this.lowest--;
    this.layers[this.lowest] = entries;
    this.rules = undefined;
  }

  /**
   * The node at `path` (symlinks followed; with `follow`, the last one too, and a hardlink
   * gives its content), or `undefined` while the layers not read yet could change the
   * answer. A decided absence throws, as {@link lookup} does. A directory found is
   * decided to be one; its metadata may still come from a lower layer.
   */
  lookup(path: string, follow = true): Resolved | undefined {
    this.rules ??= this.build();
    return lookup(this.rules.root, path, follow, this.rules.knowledge);
  }

  /**
   * The content node of the regular file at `path` (symlinks and hardlinks followed), or
   * `undefined` while undecided. A decided absence, a directory or anything not a
   * regular file throws.
   */
  findFile(path: string): FsNode | undefined {
    const found = this.lookup(path);
    if (found === undefined) return undefined;
    assertRegularFile(found.node.type, path);
    return found.node;
  }

  private build(): LayerRules {
    const rules = new LayerRules({ events: { refused: ignore }, unknownBase: this.lowest > 0 });
    for (let i = this.lowest; i < this.layerCount; i++) {
      rules.beginLayer(i);
      for (const entry of this.layers[i]!) rules.apply(entry);
    }
    return rules;
  }
}
