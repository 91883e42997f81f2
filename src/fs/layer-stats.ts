/** What one layer did to the merged filesystem, counted over non-directories. */
export interface LayerStats {
  /** Bottom layer 0. */
  index: number;
  digest: string;
  /** Tar entries in the layer, whiteouts included. */
  entries: number;
  /** Sum of the entry sizes in the layer (dive's layer size). */
  sizeBytes: number;
  /** Paths that did not exist below. */
  filesAdded: number;
  bytesAdded: number;
  /** Paths that replaced something from a lower layer (bytes: the new content). */
  filesModified: number;
  bytesModified: number;
  /** Lower-layer paths removed by whiteouts, opaque dirs or a file replacing a dir. */
  filesDeleted: number;
  bytesDeleted: number;
}

/** The image-wide waste figures, computed as dive does (see {@link EfficiencyTracker}). */
export interface ImageEfficiency {
  /** dive's score: Σ smallest size seen per path / Σ all sizes seen per path; 1 when empty. */
  efficiency: number;
  /** dive's wasted bytes: Σ of every size seen, over paths seen in more than one layer. */
  wastedBytes: number;
  /** Sum of all layer sizes. */
  sizeBytes: number;
  /** Sum of the sizes of every layer but the first (dive's "user" size). */
  userSizeBytes: number;
  /** wastedBytes / userSizeBytes (0 when there are no user layers). */
  wastedUserPercent: number;
  /** Bytes of file versions a later layer overwrote or deleted (each counted once). */
  shadowedBytes: number;
  /** Paths seen in more than one layer, largest cumulative size first. */
  inefficiencies: Inefficiency[];
}

/** A path written (or deleted) by more than one layer. */
export interface Inefficiency {
  path: string;
  /** How many layers touched it. */
  count: number;
  /** Sum of the sizes seen (dive's CumulativeSize). */
  cumulativeSize: number;
}

interface PathRecord {
  cumulative: number;
  min: number;
  count: number;
}

/**
 * dive's efficiency, without dive's per-layer trees. dive visits the leaves of each layer's
 * own tree (entries with no other entry of that layer below them); each visit adds the
 * entry's size to its path, a whiteout adding the size of what it deleted when that was a
 * directory (0 when a file). Then `efficiency = Σ min / Σ cumulative` over paths and
 * `wastedBytes = Σ cumulative` over paths visited more than once
 * (dive/filetree/efficiency.go, dive/image/image.go).
 *
 * One deliberate difference: dive fails on `.wh..wh..opq` (it looks the marker up as a
 * path); here an opaque marker counts as a 0-byte visit of every lower leaf it hides.
 */
export class EfficiencyTracker {
  private readonly paths = new Map<string, PathRecord>();
  /** The current layer's leaf candidates: path → size (last write wins). */
  private layerLeaves = new Map<string, number>();
  /** Paths with entries of the current layer below them (not leaves). */
  private layerParents = new Set<string>();

  /** Record an entry (or whiteout target) of the current layer; `path` has no leading slash. */
  visit(path: string, size: number): void {
    this.layerLeaves.set(path, size);
    let end = path.lastIndexOf('/');
    while (end > 0) {
      const parent = path.slice(0, end);
      if (this.layerParents.has(parent)) break;
      this.layerParents.add(parent);
      end = path.lastIndexOf('/', end - 1);
    }
  }

  /** Fold the current layer's leaves into the image totals. */
  endLayer(): void {
    for (const [path, size] of this.layerLeaves) {
      if (this.layerParents.has(path)) continue;
      const rec = this.paths.get(path);
      if (rec === undefined) this.paths.set(path, { cumulative: size, min: size, count: 1 });
      else {
        rec.cumulative += size;
        if (size < rec.min) rec.min = size;
        rec.count++;
      }
    }
    this.layerLeaves = new Map();
    this.layerParents = new Set();
  }

  /** The image figures, given the per-layer stats and the shadowed bytes the tree counted. */
  summary(layers: readonly LayerStats[], shadowedBytes: number): ImageEfficiency {
    let minSum = 0;
    let cumSum = 0;
    let wasted = 0;
    const inefficiencies: Inefficiency[] = [];
    for (const [path, rec] of this.paths) {
      minSum += rec.min;
      cumSum += rec.cumulative;
      if (rec.count > 1) {
        wasted += rec.cumulative;
        inefficiencies.push({ path: `/${path}`, count: rec.count, cumulativeSize: rec.cumulative });
      }
    }
    inefficiencies.sort(
      (a, b) => b.cumulativeSize - a.cumulativeSize || (a.path < b.path ? -1 : 1),
    );
    const sizeBytes = layers.reduce((n, l) => n + l.sizeBytes, 0);
    const userSizeBytes = sizeBytes - (layers[0]?.sizeBytes ?? 0);
    return {
      efficiency: cumSum === 0 ? 1 : minSum / cumSum,
      wastedBytes: wasted,
      sizeBytes,
      userSizeBytes,
      wastedUserPercent: userSizeBytes === 0 ? 0 : wasted / userSizeBytes,
      shadowedBytes,
      inefficiencies,
    };
  }
}
