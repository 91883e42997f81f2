/** Media types and annotation keys of WebAssembly OCI artifacts, as data. */
export const WasmMediaType = {
  /** `artifactType` of a component (WASI preview 2). */
  componentArtifact: 'application/vnd.wasm.component.v1+wasm',
  /** `artifactType` of a core module (WASI preview 1). */
  moduleArtifact: 'application/vnd.wasm.module.v1+wasm',
  /** The CNCF TAG Runtime wasm config (what `wasm push` writes). */
  configV0: 'application/vnd.wasm.config.v0+json',
  /** The wasm-to-oci config. */
  configV1: 'application/vnd.wasm.config.v1+json',
  /** The CNCF TAG Runtime layer type (what `wasm push` writes). */
  layer: 'application/wasm',
  /** The wasm-to-oci layer type. */
  contentLayer: 'application/vnd.wasm.content.layer.v1+wasm',
  /** The layer type some early tools wrote. */
  moduleContentLayer: 'application/vnd.module.wasm.content.layer.v1+wasm',
} as const;

/** The OCI annotation that names a file (used for the module name). */
export { TITLE_ANNOTATION } from '../media/index.js';

const CONFIG_TYPES: ReadonlySet<string> = new Set([WasmMediaType.configV0, WasmMediaType.configV1]);

const LAYER_TYPES: ReadonlySet<string> = new Set([
  WasmMediaType.contentLayer,
  WasmMediaType.moduleContentLayer,
  WasmMediaType.layer,
]);

/** OS values wasm platforms use (`wasi/wasm`, `wasip1/wasm`, `wasip2/wasm`). */
export const WASM_OS_VALUES: readonly string[] = ['wasi', 'wasip1', 'wasip2'];

/** The architecture of a wasm platform. */
export const WASM_ARCHITECTURE = 'wasm';

/** True for the wasm config media types (v0 and v1). */
export function isWasmConfigMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && CONFIG_TYPES.has(mediaType);
}

/** True for media types of a layer that is a bare wasm binary. */
export function isWasmLayerMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && LAYER_TYPES.has(mediaType);
}
