import type { ImageConfig, ImageManifest } from '../media/index.js';

/** One build step with the layer it produced, if any. */
export interface HistoryStep {
  created: string | null;
  createdBy: string;
  comment: string | null;
  /** True when the step made no layer (ENV, CMD, LABEL…). */
  emptyLayer: boolean;
  /** Index of the layer this step made (0 = bottom), or null for empty steps. */
  layerIndex: number | null;
  layerDigest: string | null;
  /** Compressed size of that layer, or 0 for empty steps. */
  size: number;
}

/**
 * Pair the config's history with the manifest's layers: each non-empty step consumes the
 * next layer, as docker history does.
 */
export function historySteps(config: ImageConfig, manifest: ImageManifest): HistoryStep[] {
  let next = 0;
  return (config.history ?? []).map((h) => {
    const empty = h.empty_layer === true;
    const layer = empty ? undefined : manifest.layers[next];
    const layerIndex = empty || !layer ? null : next;
    if (!empty) next++;
    return {
      created: h.created ?? null,
      createdBy: h.created_by ?? '',
      comment: h.comment ?? null,
      emptyLayer: empty,
      layerIndex,
      layerDigest: layer?.digest ?? null,
      size: layer?.size ?? 0,
    };
  });
}
