import { InvalidArgumentError, PathNotFoundError } from '../errors/index.js';
import type { TarEntry, TarRecord } from '../tar/index.js';
import { DepthFirst } from './depth-first.js';
import { EfficiencyTracker, type ImageEfficiency, type LayerStats } from './layer-stats.js';
import { type EntryView, entryOf, type FsEntry, FsNode, NodeView } from './node.js';
import { childPath, plainRelative, splitPath } from './paths.js';
import { hardlinkContent, type Resolved, resolvePath } from './resolve.js';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

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
 * OCI changeset rules, and answering lookups the way a container would see the files.
 *
 * Rules: `.wh.NAME` removes what lower layers had at NAME (a whole subtree for a
 * directory); `.wh..wh..opq` in D hides everything lower layers had below D but keeps what
 * the same layer adds, wherever in the layer the marker comes; a later layer can re-create
 * a removed path; a file over a directory replaces the subtree and a directory over a file
 * replaces the file (as overlayfs shows them); directories implied by deeper entries exist;
 * a directory entry over an existing directory updates its metadata and keeps its children.
 * Parent directories are never resolved through symlinks (overlayfs semantics: an upper
 * directory hides a lower symlink of the same name).
 *
 * Memory: one small fixed-shape node per path plus its map slot; no content is kept.
 */
export class ImageFilesystem {
  private readonly root = FsNode.impliedDir(0);
  private readonly layers: LayerStats[] = [];
  private readonly efficiencyTracker: EfficiencyTracker | undefined;
  private readonly strings = new Map<string, string>();
  private shadowedBytes = 0;
  /** Cache of the last parent directory looked up while applying (tars group by dir). */
  private lastDirPath: string | undefined;
  private lastDir: FsNode | undefined;

  constructor(options: ImageFilesystemOptions = {}) {
    this.efficiencyTracker = options.efficiency === false ? undefined : new EfficiencyTracker();
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
    return this.efficiencyTracker.summary(this.layers, this.shadowedBytes);
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
    this.lastDirPath = undefined;
    this.lastDir = undefined;
    return {
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
  }

  private applyItem(item: TarEntry | TarRecord, stats: LayerStats): void {
    const entry = 'entry' in item ? item.entry : item;
    stats.entries++;
    stats.sizeBytes += entry.type === 'dir' ? 0 : entry.size;
    this.applyEntry(entry, stats.index, stats);
  }

  private endLayer(stats: LayerStats): LayerStats {
    this.efficiencyTracker?.endLayer();
    this.layers.push(stats);
    return stats;
  }

  private intern = (s: string | undefined): string | undefined => {
    if (s === undefined) return undefined;
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    this.strings.set(s, s);
    return s;
  };

  private applyEntry(e: TarEntry, layer: number, stats: LayerStats): void {
    const path = plainRelative(e.path) ?? splitPath(e.path).join('/');
    if (path === '') {
      if (e.type === 'dir') this.root.assign(e, layer, this.intern);
      return;
    }
    const slash = path.lastIndexOf('/');
    const name = slash < 0 ? path : path.slice(slash + 1);
    const parentKey = slash < 0 ? '' : path.slice(0, slash);
    const parent = this.ensureDir(path, parentKey, layer, stats);
    if (name.startsWith(WHITEOUT)) {
      if (name === OPAQUE) this.opaque(parent, parentKey, layer, stats);
      else if (!name.startsWith('.wh..wh.')) {
        const target = name.slice(WHITEOUT.length);
        const targetPath = parentKey === '' ? target : `${parentKey}/${target}`;
        const victim = parent.children!.get(target);
        const dirBytes = victim?.type === 'dir' ? subtreeBytes(victim) : 0;
        if (victim) this.prune(parent, target, victim, layer, stats);
        this.efficiencyTracker?.visit(targetPath, dirBytes);
      }
      // Other `.wh..wh.*` names are aufs bookkeeping, meaningless here.
      return;
    }
    this.efficiencyTracker?.visit(path, e.type === 'dir' ? 0 : e.size);
    const children = parent.children!;
    const existing = children.get(name);
    if (e.type === 'dir' && existing?.type === 'dir') {
      existing.assign(e, layer, this.intern);
      return;
    }
    if (existing !== undefined && existing.type === 'dir') this.invalidateDirCache();
    const node = new FsNode(e.type, 0, 0, 0, 0, 0, layer, 0, 0);
    node.assign(e, layer, this.intern);
    if (e.type === 'hardlink') node.linkTarget = this.captureLinkTarget(node);
    if (e.type !== 'dir') {
      if (existing === undefined) {
        stats.filesAdded++;
        stats.bytesAdded += e.size;
      } else if (existing.layer < layer) {
        stats.filesModified++;
        stats.bytesModified += e.size;
      }
    }
    if (existing !== undefined) {
      this.countRemoved(existing, layer, stats, existing.type === 'dir' || e.type === 'dir');
    }
    children.set(name, node);
  }

  /**
   * The directory holding `path`'s last segment, creating implied directories and replacing
   * non-directories in the way (an upper directory hides a lower file of the same name).
   */
  private ensureDir(path: string, key: string, layer: number, stats: LayerStats): FsNode {
    if (key === '') return this.root;
    if (key === this.lastDirPath && this.lastDir !== undefined) return this.lastDir;
    const segs = path.split('/');
    let cur = this.root;
    for (let i = 0; i < segs.length - 1; i++) {
      const seg = segs[i]!;
      const children = cur.children!;
      let next = children.get(seg);
      if (next === undefined || next.type !== 'dir') {
        const dir = FsNode.impliedDir(layer);
        if (next !== undefined) this.countRemoved(next, layer, stats, true);
        children.set(seg, dir);
        next = dir;
      }
      cur = next;
    }
    this.lastDirPath = key;
    this.lastDir = cur;
    return cur;
  }

  private invalidateDirCache(): void {
    this.lastDirPath = undefined;
    this.lastDir = undefined;
  }

  /** Account for lower-layer content that disappears (overwritten, deleted, hidden). */
  private countRemoved(
    node: FsNode,
    layer: number,
    stats: LayerStats,
    countAsDeleted: boolean,
  ): void {
    forEachNode(node, (n) => {
      if (n.type === 'dir' || n.layer >= layer) return;
      this.shadowedBytes += n.size;
      if (countAsDeleted || n !== node) {
        stats.filesDeleted++;
        stats.bytesDeleted += n.size;
      }
    });
  }

  /**
   * Remove what lower layers have at `parent/name`, keeping anything this layer wrote
   * (whiteouts only apply to lower layers, so the order inside a layer does not matter).
   */
  private prune(parent: FsNode, name: string, node: FsNode, layer: number, stats: LayerStats) {
    this.invalidateDirCache();
    if (!this.pruneLower(node, layer, stats)) parent.children!.delete(name);
  }

  /** Drop lower-layer nodes below (and at) `node`; true if something of `layer` remains. */
  private pruneLower(node: FsNode, layer: number, stats: LayerStats): boolean {
    let keep = node.layer === layer;
    if (node.children !== undefined) {
      for (const [name, child] of node.children) {
        if (this.pruneLower(child, layer, stats)) keep = true;
        else node.children.delete(name);
      }
      if (keep && node.layer < layer) {
        // A lower dir kept only for this layer's entries below it: from now on it is the
        // dir those entries imply, as if the marker had come first.
        node.resetImplied(layer);
      }
    }
    if (!keep && node.type !== 'dir') {
      this.shadowedBytes += node.size;
      stats.filesDeleted++;
      stats.bytesDeleted += node.size;
    }
    return keep;
  }

  /** `.wh..wh..opq`: hide every lower-layer child of `dir`, keep this layer's. */
  private opaque(dir: FsNode, dirKey: string, layer: number, stats: LayerStats): void {
    this.invalidateDirCache();
    for (const [name, child] of dir.children!) {
      const childKey = dirKey === '' ? name : `${dirKey}/${name}`;
      const tracker = this.efficiencyTracker;
      if (tracker) {
        forEachLeaf(child, childKey, (n, p) => {
          if (n.layer < layer) tracker.visit(p, 0);
        });
      }
      if (!this.pruneLower(child, layer, stats)) dir.children!.delete(name);
    }
  }

  /** The content node a new hardlink points at, if its target exists already. */
  private captureLinkTarget(link: FsNode): FsNode | undefined {
    try {
      const found = resolvePath(this.root, link.linkname ?? '', false);
      if (found.node.type === 'hardlink') return found.node.linkTarget;
      return found.node;
    } catch {
      return undefined;
    }
  }

  private digestOf(layer: number): string {
    return this.layers[layer]?.digest ?? '';
  }

  private entry(r: Resolved): FsEntry {
    return entryOf(r.node, r.path, this.digestOf(r.node.layer));
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
    return this.entry(hardlinkContent(this.root, r.node, path));
  }

  /** The children of directory `dir` (symlinks to it followed), sorted by name. */
  list(dir: string): FsEntry[] {
    const r = resolvePath(this.root, dir, true);
    const children = r.node.children;
    if (children === undefined) throw new PathNotFoundError(dir, 'not a directory');
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
    while (it.next()) yield entryOf(it.node, it.path, this.digestOf(it.node.layer));
  }

  /**
   * What {@link walk} yields, handed to `visit` one at a time as one reused
   * {@link EntryView} that is only valid during the call (copy what you keep). For
   * listings of tens of thousands of paths: no entry object is built per path, so nothing
   * survives long enough to make the garbage collector copy it.
   */
  forEachEntry(dir: string, visit: (entry: EntryView) => void, options: WalkOptions = {}): void {
    const start = this.walkStart(dir);
    const view = new NodeView(this.layers);
    if (options.includeRoot) visit(view.show(start.node, start.path));
    const it = new DepthFirst(start.node, start.path, options.maxDepth);
    while (it.next()) visit(view.show(it.node, it.path));
  }

  private walkStart(dir: string): Resolved {
    const start = resolvePath(this.root, dir, true);
    if (start.node.children === undefined) throw new PathNotFoundError(dir, 'not a directory');
    return start;
  }
}

function forEachNode(node: FsNode, fn: (n: FsNode) => void): void {
  fn(node);
  if (node.children) for (const child of node.children.values()) forEachNode(child, fn);
}

function forEachLeaf(node: FsNode, path: string, fn: (n: FsNode, path: string) => void): void {
  if (node.children === undefined || node.children.size === 0) {
    fn(node, path);
    return;
  }
  for (const [name, child] of node.children) forEachLeaf(child, `${path}/${name}`, fn);
}

function subtreeBytes(node: FsNode): number {
  let n = 0;
  forEachNode(node, (x) => {
    if (x.type !== 'dir') n += x.size;
  });
  return n;
}
