/**
 * WebAssembly OCI artifacts: tell them from container images by the manifest alone,
 * inspect them without fetching the binary, pull and verify the binary, and publish
 * modules and components. A leaf: nothing in the core imports this folder.
 */
export {
  findWasmLayer,
  moduleNameFromConfig,
  moduleNameOf,
  type WasmArtifactInfo,
  type WasmInfoOfOptions,
  wasmInfoOf,
} from './artifact-info.js';
export {
  hasWasmMagic,
  parseWasmHeader,
  WASM_HEADER_LENGTH,
  WASM_MAGIC,
  type WasmBinaryKind,
  type WasmHeader,
  wasiVersionOfKind,
} from './binary.js';
export { type ComponentWorld, componentWorld } from './component-world.js';
export {
  type ArtifactType,
  configPlatform,
  detectArtifactType,
  isContainer,
  isWasm,
  isWasmPlatform,
  type WasmSignal,
} from './detect.js';
export {
  chooseWasmEntry,
  type InspectWasmOptions,
  inspectWasm,
  type WasmInspection,
} from './inspect-wasm.js';
export {
  isWasmConfigMediaType,
  isWasmLayerMediaType,
  TITLE_ANNOTATION,
  WASM_ARCHITECTURE,
  WASM_OS_VALUES,
  WasmMediaType,
} from './media-types.js';
export {
  DEFAULT_MAX_WASM_BYTES,
  type PulledWasm,
  type PullWasmOptions,
  pullWasm,
} from './pull-wasm.js';
export {
  type BuildWasmArtifactOptions,
  buildWasmArtifact,
  type PushedWasm,
  type PushWasmOptions,
  pushWasm,
  type WasmArtifact,
  type WasmConfig,
} from './push-wasm.js';
export {
  type ReadModuleFromLayersOptions,
  readModuleFromLayers,
  runwasiModulePath,
} from './runwasi-module.js';
export { isPreview1, isPreview2, targetTriple, type WasiVersion } from './wasi-version.js';
