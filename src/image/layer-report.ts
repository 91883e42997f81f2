import type { ImageFilesystem, Inefficiency } from '../fs/index.js';
import type { OpenedImage } from '../source/index.js';
import { historySteps } from './history.js';

/** One layer as `ocipeek layers` and the web explorer report it. */
export interface LayerReportEntry {
  index: number;
  digest: string;
  mediaType: string;
  compressedSize: number;
  /** Size of the uncompressed tar, when the layer was read whole (`null` from a TOC). */
  uncompressedSize: number | null;
  /** The build step that made the layer, from the config's history. */
  createdBy: string | null;
  entries: number;
  filesAdded: number;
  filesModified: number;
  filesDeleted: number;
  bytesAdded: number;
  bytesModified: number;
  bytesDeleted: number;
}

/** What each layer did and how much space the image wastes, as dive computes it. */
export interface LayerReport {
  name: string;
  digest: string;
  layers: LayerReportEntry[];
  efficiency: number;
  wastedBytes: number;
  wastedUserPercent: number;
  shadowedBytes: number;
  /** The paths that waste most, largest first (at most 20). */
  inefficiencies: Inefficiency[];
}

/**
 * The per-layer statistics and efficiency of `fs` (built with efficiency tracking from
 * `image`'s layers), paired with the manifest's descriptors and the history's steps.
 * `tarSizes` are the layers' uncompressed sizes when they were read whole.
 */
export function layerReport(
  image: OpenedImage,
  fs: ImageFilesystem,
  tarSizes?: readonly number[],
): LayerReport {
  const steps = historySteps(image.config, image.manifest).filter((s) => !s.emptyLayer);
  const eff = fs.efficiency();
  const layers = fs.layerStats().map((s, i) => ({
    index: i,
    digest: s.digest,
    mediaType: image.layers[i]!.descriptor.mediaType,
    compressedSize: image.layers[i]!.descriptor.size,
    uncompressedSize: tarSizes?.[i] ?? null,
    createdBy: steps[i]?.createdBy ?? null,
    entries: s.entries,
    filesAdded: s.filesAdded,
    filesModified: s.filesModified,
    filesDeleted: s.filesDeleted,
    bytesAdded: s.bytesAdded,
    bytesModified: s.bytesModified,
    bytesDeleted: s.bytesDeleted,
  }));
  return {
    name: image.name,
    digest: image.manifestDigest,
    layers,
    efficiency: eff.efficiency,
    wastedBytes: eff.wastedBytes,
    wastedUserPercent: eff.wastedUserPercent,
    shadowedBytes: eff.shadowedBytes,
    inefficiencies: eff.inefficiencies.slice(0, 20),
  };
}
