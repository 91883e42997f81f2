import { InvalidArgumentError, PathNotFoundError } from '../errors/index.js';
import { hardlinkContent, LayerRules, type Resolved, resolvePath } from '../layer-rules/index.js';
import { escapeName, type TarEntry, type TarRecord } from '../tar/index.js';
import { DepthFirst } from './depth-first.js';
import { EfficiencyTracker, type ImageEfficiency, type LayerStats } from './layer-stats.js';
import { LinkCounts } from './link-counts.js';
import { type EntryView, entryOf, type FsEntry, NodeView } from './node.js';
import { childPath } from './paths.js';
import { ViewStats } from './view-stats.js';

/** Options for {@link ImageFilesystem.applyLayer}. */
export interface ApplyLayerOptions {
  signal?: AbortSignal;
}

/** Options for the {@link ImageFilesystem} constructor. */
export interface ImageFilesystemOptions {
  /**
   * Keep what {@link ImageFilesystem.efficiency} needs (one record per path ever written);
   * default true. Views that only list or read files turn it off to save time and memory.
   */
  efficiency?: boolean;
}

/** Options for {@link ImageFilesystem.stat}. */
export interface StatOptions {
  /** Follow a symlink (or hardlink) in the last component; default true. */
  follow?: boolean;
}

/** Options for {@link ImageFilesystem.walk}. */
export interface WalkOptions {
  /** Yield the starting directory itself first; default false. */
  includeRoot?: boolean;
  /** Stop descending below this depth (1 = direct children only); default unlimited. */
  maxDepth?: number;
}

/**
 * The merged filesystem of an image, built by applying its layers bottom to top with the
 * layer rules unpack uses too ({@link LayerRules}: umoci's and containerd's), and
 * answering lookups the way a container would see the files.
 *
 * In short: parents are resolved through symlinks inside the root (a layer writing
 * `lib/x` over a lower `lib -> usr/lib` adds `/usr/lib/x`), missing directories are
 * implied, `.wh.NAME` and `.wh..wh..opq` remove what lower layers left (never what the
 * same layer wrote), a file over a directory replaces the subtree, a directory over a
 * file (or a symlink) replaces it, a directory over a directory updates its metadata and
 * keeps its children. Entries the rules refuse (a parent that is a file, a hardlink to
 * nothing…) are skipped and listed in {@link ImageFilesystem.warnings}.
 *
 * Memory: one small fixed-shape node per path plus its map slot; no content is kept.
 */
export class ImageFilesystem {
  private readonly layers: LayerStats[] = [];
  private readonly efficiencyTracker: EfficiencyTracker | undefined;
  private readonly events: ViewStats;
  private readonly rules: LayerRules;
  /** Counted on the first question after the last layer, when the tree stopped changing. */
  private linkCounts: LinkCounts | undefined;

  constructor(options: ImageFilesystemOptions = {}) {
    this.efficiencyTracker = options.efficiency === false ? undefined : new EfficiencyTracker();
    this.events = new ViewStats(this.efficiencyTracker);
    this.rules = new LayerRules({ events: this.events });
  }

  private get root() {
    return this.rules.root;
  }

  /** Number of layers applied so far. */
  get layerCount(): number {
    return this.layers.length;
  }

  /** Per-layer statistics, bottom first. */
  layerStats(): readonly LayerStats[] {
    return this.layers;
  }

  /** Image-wide wasted bytes and efficiency score, as dive computes them. */
  efficiency(): ImageEfficiency {
    if (!this.efficiencyTracker) {
      throw new InvalidArgumentError('this filesystem was built without efficiency tracking');
    }
    return this.efficiencyTracker.summary(this.layers, this.events.shadowedBytes);
  }

  /**
   * Entries the layer rules refused, one line each (`layer N: PATH: reason; entry
   * skipped`), at most 1,000; `unpack` fails on the first of them, as umoci does.
   */
  warnings(): readonly string[] {
    return this.events.warnings;
  }

  /**
   * Apply one layer's entries on top of what is there. Layers must come in order:
   * `layerIndex` is the number of layers applied before (0 for the bottom one). Accepts
   * plain entries or the records {@link readTar} yields.
   */
  async applyLayer(
    entries: AsyncIterable<TarEntry | TarRecord> | Iterable<TarEntry | TarRecord>,
    layerIndex: number,
    layerDigest: string,
    options: ApplyLayerOptions = {},
  ): Promise<LayerStats> {
    const stats = this.beginLayer(layerIndex, layerDigest);
    const { signal } = options;
    // A plain array or other sync iterable is applied without a promise per entry.
    if (Symbol.iterator in entries) {
      for (const item of entries) {
        if ((stats.entries & 1023) === 0) signal?.throwIfAborted();
        this.applyItem(item, stats);
      }
    } else {
      for await (const item of entries) {
        if ((stats.entries & 1023) === 0) signal?.throwIfAborted();
        this.applyItem(item, stats);
      }
    }
    return this.endLayer(stats);
  }

  /**
   * {@link applyLayer} for entries that arrive in batches while their layer is still being
   * read, so the tree grows as the bytes come instead of after the last one.
   */
  async applyLayerBatches(
    batches: AsyncIterable<readonly TarEntry[]>,
    layerIndex: number,
    layerDigest: string,
    options: ApplyLayerOptions = {},
  ): Promise<LayerStats> {
    const stats = this.beginLayer(layerIndex, layerDigest);
    for await (const batch of batches) {
      options.signal?.throwIfAborted();
      for (const entry of batch) this.applyItem(entry, stats);
    }
    return this.endLayer(stats);
  }

  private beginLayer(layerIndex: number, layerDigest: string): LayerStats {
    if (layerIndex !== this.layers.length) {
      throw new InvalidArgumentError(
        `layer ${layerIndex} applied out of order: ${this.layers.length} layers applied so far`,
      );
    }
    const stats: LayerStats = {
      index: layerIndex,
      digest: layerDigest,
      entries: 0,
      sizeBytes: 0,
      filesAdded: 0,
      bytesAdded: 0,
      filesModified: 0,
      bytesModified: 0,
      filesDeleted: 0,
      bytesDeleted: 0,
    };
    this.events.stats = stats;
    this.linkCounts = undefined;
    this.rules.beginLayer(layerIndex);
    return stats;
  }

  private applyItem(item: TarEntry | TarRecord, stats: LayerStats): void {
    const entry = 'entry' in item ? item.entry : item;
    stats.entries++;
    stats.sizeBytes += entry.type === 'dir' ? 0 : entry.size;
    // The view's events never make the rules wait.
    this.rules.apply(entry);
  }

  private endLayer(stats: LayerStats): LayerStats {
    this.efficiencyTracker?.endLayer();
    this.layers.push(stats);
    return stats;
  }

  private digestOf(layer: number): string {
    return this.layers[layer]?.digest ?? '';
  }

  private get links(): LinkCounts {
    this.linkCounts ??= new LinkCounts(this.root, this.events.hardlinks > 0);
    return this.linkCounts;
  }

  private entry(r: Resolved): FsEntry {
    return entryOf(r.node, r.path, this.digestOf(r.node.layer), this.links);
  }

  /** Resolve `path` (symlinks followed everywhere, hardlinks to their content). */
  resolve(path: string): FsEntry {
    return this.entry(resolvePath(this.root, path, true));
  }

  /** The entry at `path`; with `follow` (default) a final symlink or hardlink is followed. */
  stat(path: string, options: StatOptions = {}): FsEntry {
    return this.entry(resolvePath(this.root, path, options.follow ?? true));
  }

  /** The entry at `path` itself, not following a final symlink or hardlink. */
  lstat(path: string): FsEntry {
    return this.entry(resolvePath(this.root, path, false));
  }

  /** True when `path` resolves to something. */
  exists(path: string, options: StatOptions = {}): boolean {
    try {
      resolvePath(this.root, path, options.follow ?? true);
      return true;
    } catch (err) {
      if (err instanceof PathNotFoundError) return false;
      throw err;
    }
  }

  /** The content node of a hardlink at `path` (as {@link stat} with follow does). */
  linkContent(path: string): FsEntry {
    const r = resolvePath(this.root, path, false);
    if (r.node.type !== 'hardlink') return this.entry(r);
    return this.entry(hardlinkContent(r.node, path));
  }

  /** The children of directory `dir` (symlinks to it followed), sorted by name. */
  list(dir: string): FsEntry[] {
    const r = resolvePath(this.root, dir, true);
    const children = r.node.children;
    if (children === undefined)
      throw new PathNotFoundError(dir, 'not a directory', escapeName(dir));
    return [...children.keys()]
      .sort()
      .map((name) => this.entry({ node: children.get(name)!, path: childPath(r.path, name) }));
  }

  /**
   * Every path below `dir`, depth first, siblings sorted by name. Symlinks to directories
   * are reported, not descended into.
   */
  *walk(dir = '/', options: WalkOptions = {}): Generator<FsEntry, void, undefined> {
    const start = this.walkStart(dir);
    if (options.includeRoot) yield this.entry(start);
    const it = new DepthFirst(start.node, start.path, options.maxDepth);
    const links = this.links;
    while (it.next()) yield entryOf(it.node, it.path, this.digestOf(it.node.layer), links);
  }

  /**
   * What {@link walk} yields, handed to `visit` one at a time as one reused
   * {@link EntryView} that is only valid during the call (copy what you keep). For
   * listings of tens of thousands of paths: no entry object is built per path, so nothing
   * survives long enough to make the garbage collector copy it.
   */
  forEachEntry(dir: string, visit: (entry: EntryView) => void, options: WalkOptions = {}): void {
    const start = this.walkStart(dir);
    const view = new NodeView(this.layers, this.links);
    if (options.includeRoot) visit(view.show(start.node, start.path));
    const it = new DepthFirst(start.node, start.path, options.maxDepth);
    while (it.next()) visit(view.show(it.node, it.path));
  }

  private walkStart(dir: string): Resolved {
    const start = resolvePath(this.root, dir, true);
    if (start.node.children === undefined)
      throw new PathNotFoundError(dir, 'not a directory', escapeName(dir));
    return start;
  }
}
