/**
 * `ocipeek/wasm`: WASM artifacts: detection, inspection, pull and push.
 *
 * @packageDocumentation
 */

export type { WasmBinaryKind, WasmHeader } from '../wasm/binary.js';
export type { ComponentWorld } from '../wasm/component-world.js';
export type { WasmSignal } from '../wasm/detect.js';
export {
  type ArtifactType,
  detectArtifactType,
  inspectWasm,
  isPreview1,
  isPreview2,
  pullWasm,
  pushWasm,
  targetTriple,
  type WasiVersion,
  type WasmArtifactInfo,
} from '../wasm/index.js';
export type { InspectWasmOptions, WasmInspection } from '../wasm/inspect-wasm.js';
export type { PulledWasm, PullWasmOptions } from '../wasm/pull-wasm.js';
export type {
  BuildWasmArtifactOptions,
  PushedWasm,
  PushWasmOptions,
  WasmArtifact,
  WasmConfig,
} from '../wasm/push-wasm.js';
