/**
 * `ocipeek/unpack`: safe extraction of an image's layers to a directory.
 *
 * @packageDocumentation
 */

export { type UnpackOptions, type UnpackResult, unpackLayers } from '../unpack/index.js';
export type {
  OwnershipEntry,
  OwnershipRecord,
  UnpackWarning,
} from '../unpack/types.js';
