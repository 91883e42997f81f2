export { cleanPath } from '../layer-rules/index.js';
export type {
  OwnershipEntry,
  OwnershipRecord,
  UnpackOptions,
  UnpackResult,
  UnpackWarning,
} from './types.js';
export { DEFAULT_MAX_LAYER_BYTES, unpackLayers } from './unpack-layers.js';
