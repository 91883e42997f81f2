import type { FsNode } from '../layer-rules/fs-node.js';
import { joinRelative, type RuleEvents, refusalText } from '../layer-rules/index.js';
import type { TarEntry, TarRecord } from '../tar/index.js';
import type { EfficiencyTracker, LayerStats } from './layer-stats.js';

/** Refusals kept for {@link ViewStats.warnings}; the rest are only counted. */
const MAX_KEPT_WARNINGS = 1000;

/**
 * What the filesystem view makes of the layer rules' decisions: per-layer statistics
 * (files added, modified, deleted), dive's efficiency figures, the bytes later layers
 * shadowed, and the entries the rules refused.
 */
export class ViewStats implements RuleEvents {
  /** The layer being applied. */
  stats!: LayerStats;
  shadowedBytes = 0;
  readonly warnings: string[] = [];
  warningCount = 0;
  /** Hardlinks placed so far (none: no link counts to work out). */
  hardlinks = 0;

  constructor(private readonly efficiency: EfficiencyTracker | undefined) {}

  placed(
    node: FsNode,
    parent: string,
    name: string,
    _item: TarEntry | TarRecord,
    previous: FsNode | undefined,
  ): undefined {
    const size = node.type === 'dir' ? 0 : node.size;
    this.efficiency?.visit(joinRelative(parent, name), size);
    if (node.type === 'dir') return;
    if (node.type === 'hardlink') this.hardlinks++;
    const s = this.stats;
    if (previous === undefined) {
      s.filesAdded++;
      s.bytesAdded += size;
    } else if (previous.layer < s.index) {
      s.filesModified++;
      s.bytesModified += size;
    }
    return undefined;
  }

  dirUpdated(_dir: FsNode, parent: string, name: string): void {
    this.efficiency?.visit(joinRelative(parent, name), 0);
  }

  /**
   * Lower-layer content that disappears: shadowed bytes always; deleted files when a
   * whiteout removed it, when a directory is involved, or for what lay below the path.
   */
  removed(node: FsNode, _parent: string, _name: string, by: TarEntry | undefined): void {
    const layer = this.stats.index;
    const asDeleted = by === undefined || by.type === 'dir' || node.type === 'dir';
    forEachNode(node, (n) => {
      if (n.type === 'dir' || n.layer >= layer) return;
      this.shadowedBytes += n.size;
      if (asDeleted || n !== node) {
        this.stats.filesDeleted++;
        this.stats.bytesDeleted += n.size;
      }
    });
  }

  whiteout(_entry: TarEntry, victim: FsNode | undefined, path: string): void {
    this.efficiency?.visit(path, victim?.type === 'dir' ? subtreeBytes(victim) : 0);
  }

  /** dive counts an opaque marker as a 0-byte visit of every lower leaf it hides. */
  opaque(_entry: TarEntry, dir: FsNode, path: string): void {
    const tracker = this.efficiency;
    if (!tracker) return;
    const layer = this.stats.index;
    for (const [name, child] of dir.children!) {
      forEachLeaf(child, path === '' ? name : `${path}/${name}`, (n, p) => {
        if (n.layer < layer) tracker.visit(p, 0);
      });
    }
  }

  refused(entry: TarEntry, reason: string): void {
    this.warningCount++;
    if (this.warnings.length < MAX_KEPT_WARNINGS) {
      this.warnings.push(`${refusalText(this.stats.index, entry, reason)}; entry skipped`);
    }
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
