export { type CleanPath, cleanPath, isPlainPath, joinRelative } from './clean-path.js';
export { type RuleEvents, refusalText } from './events.js';
export { Knowledge } from './knowledge.js';
export { LayerRules, type LayerRulesOptions } from './layer-rules.js';
export {
  assertRegularFile,
  hardlinkContent,
  lookup,
  type Resolved,
  resolvePath,
} from './lookup.js';
export {
  type Chain,
  type ChainFailure,
  existingDir,
  linkTargetOf,
  MAX_SYMLINK_HOPS,
  secureJoin,
} from './secure-join.js';
export { TopDownSearch } from './top-down.js';
