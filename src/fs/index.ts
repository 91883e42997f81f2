export { MAX_SYMLINK_HOPS } from '../layer-rules/index.js';
export {
  type ChangedField,
  type ChangedPath,
  contentPairs,
  contentVerdict,
  type DiffTreesOptions,
  diffTrees,
  type TreeDiff,
  type Walkable,
} from './diff.js';
export {
  checkEfficiency,
  DIVE_CI_DEFAULTS,
  type EfficiencyLimits,
  type EfficiencyRuleResult,
} from './efficiency-rules.js';
export {
  type ApplyLayerOptions,
  ImageFilesystem,
  type ImageFilesystemOptions,
  type StatOptions,
  type WalkOptions,
} from './image-filesystem.js';
export type { ImageEfficiency, Inefficiency, LayerStats } from './layer-stats.js';
export { type EntryJson, type EntryView, type FsEntry, toEntryJson } from './node.js';
