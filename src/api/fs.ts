/**
 * `ocipeek/fs`: an image's merged filesystem built from its layers (`ls`, `tree`, `stat`,
 * `cat`, `find`, `diff` and layer analysis as a library).
 *
 * @packageDocumentation
 */

export type {
  ChangedField,
  ChangedPath,
  DiffTreesOptions,
  FilePair,
  Walkable,
} from '../fs/diff.js';
export {
  checkEfficiency,
  DIVE_CI_DEFAULTS,
  type EfficiencyLimits,
  type EfficiencyRuleResult,
} from '../fs/efficiency-rules.js';
export type { ApplyLayerOptions, StatOptions, WalkOptions } from '../fs/image-filesystem.js';
export {
  diffTrees,
  type EntryJson,
  type EntryView,
  type FsEntry,
  type ImageEfficiency,
  ImageFilesystem,
  type ImageFilesystemOptions,
  type LayerStats,
  type TreeDiff,
  toEntryJson,
} from '../fs/index.js';
export type { Inefficiency } from '../fs/layer-stats.js';
export {
  type BuildFilesystemOptions,
  type BuiltFilesystem,
  buildFilesystem,
  type ScanLayerOptions,
  scanLayer,
} from '../image/build-filesystem.js';
export {
  type ExportFilesystemOptions,
  exportFilesystem,
} from '../image/export-filesystem.js';
export { type DiffSide, diffImages, sameContentKnown } from '../image/image-diff.js';
export { LayerIndexCache, type LayerListing } from '../image/layer-index-cache.js';
export type { ListingColumns, RareFields } from '../image/listing-codec.js';
export { type OpenImageFileOptions, openImageFile } from '../image/read-file.js';
