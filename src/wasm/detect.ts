import type { Descriptor, ImageManifest, Platform } from '../media/index.js';
import {
  isWasmConfigMediaType,
  isWasmLayerMediaType,
  WASM_ARCHITECTURE,
  WasmMediaType,
} from './media-types.js';
import type { WasiVersion } from './wasi-version.js';

/** Which part of the manifest (or its surroundings) said "wasm". */
export type WasmSignal = 'artifactType' | 'configMediaType' | 'layerMediaType' | 'platform';

/** What an OCI manifest carries: a container image, or a WebAssembly artifact. */
export type ArtifactType =
  | { kind: 'container' }
  | { kind: 'wasm'; wasiVersion: WasiVersion; signal: WasmSignal };

/** True when `type` is a WebAssembly artifact. */
export function isWasm(type: ArtifactType): type is Extract<ArtifactType, { kind: 'wasm' }> {
  return type.kind === 'wasm';
}

/** True when `type` is a container image. */
export function isContainer(type: ArtifactType): type is { kind: 'container' } {
  return type.kind === 'container';
}

/** The platform a config blob declares (`architecture` / `os` at its top level), if any. */
export function configPlatform(config: unknown): Platform | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  const c = config as Record<string, unknown>;
  if (typeof c.architecture !== 'string') return undefined;
  return { architecture: c.architecture, os: typeof c.os === 'string' ? c.os : '' };
}

/** True for a runwasi-style wasm platform: architecture `wasm` (os `wasi`, `wasip1`, `wasip2`). */
export function isWasmPlatform(platform: Platform | undefined): boolean {
  return platform?.architecture?.toLowerCase() === WASM_ARCHITECTURE;
}

/**
 * Tell a WebAssembly artifact from a container image using only the manifest, and
 * optionally the parsed config blob and the index entry that pointed at the manifest.
 * No blob is needed. Signals, most specific first:
 *
 * 1. `artifactType` (of the manifest, else of the index entry): the component type means
 *    WASI preview 2, the module type preview 1;
 * 2. the config media type `application/vnd.wasm.config.v0+json` or `v1+json`;
 * 3. a layer of type `application/vnd.wasm.content.layer.v1+wasm`,
 *    `application/vnd.module.wasm.content.layer.v1+wasm` or `application/wasm`;
 * 4. a platform with architecture `wasm` in the index entry or the config (runwasi-style).
 *
 * Only signal 1 names the WASI version; for the others it is `unknown` until the binary
 * itself has been read (see `pullWasm`), as the issue this implements specifies.
 */
export function detectArtifactType(
  manifest: ImageManifest,
  config?: unknown,
  indexEntry?: Descriptor,
): ArtifactType {
  const artifactType = manifest.artifactType ?? indexEntry?.artifactType;
  if (artifactType === WasmMediaType.componentArtifact) {
    return { kind: 'wasm', wasiVersion: 'preview2', signal: 'artifactType' };
  }
  if (artifactType === WasmMediaType.moduleArtifact) {
    return { kind: 'wasm', wasiVersion: 'preview1', signal: 'artifactType' };
  }
  if (isWasmConfigMediaType(manifest.config?.mediaType)) {
    return { kind: 'wasm', wasiVersion: 'unknown', signal: 'configMediaType' };
  }
  if ((manifest.layers ?? []).some((l) => isWasmLayerMediaType(l.mediaType))) {
    return { kind: 'wasm', wasiVersion: 'unknown', signal: 'layerMediaType' };
  }
  if (isWasmPlatform(indexEntry?.platform) || isWasmPlatform(configPlatform(config))) {
    return { kind: 'wasm', wasiVersion: 'unknown', signal: 'platform' };
  }
  return { kind: 'container' };
}
