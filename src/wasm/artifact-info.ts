import { InvalidWasmError } from '../errors/index.js';
import { type Descriptor, type ImageManifest, isLayerMediaType } from '../media/index.js';
import type { Reference } from '../ref/index.js';
import type { WasmSignal } from './detect.js';
import { isWasmLayerMediaType, TITLE_ANNOTATION } from './media-types.js';
import type { WasiVersion } from './wasi-version.js';

/** What a wasm artifact holds, from its manifest and config (and binary once pulled). */
export interface WasmArtifactInfo {
  /** The WASI level; `unknown` until the binary is read when the manifest does not say. */
  wasiVersion: WasiVersion;
  /** The detection signal that identified the artifact as wasm. */
  signal: WasmSignal;
  /** Digest of the layer holding the binary (absent when no layer is a bare wasm binary). */
  layerDigest?: string;
  /** Size in bytes of that layer. */
  size?: number;
  /** Media type of that layer. */
  layerMediaType?: string;
  /** The module's name: layer title, else the config, else the repository's last part. */
  moduleName?: string;
  /** The manifest's annotations with the wasm layer's merged over them. */
  annotations: Record<string, string>;
}

/**
 * The layer that holds the wasm binary: the one layer with a wasm media type; failing
 * that, a manifest's only layer when it is not a filesystem (tar) layer. Returns
 * undefined when the binary sits inside filesystem layers (runwasi-style images).
 * Throws {@link InvalidWasmError} when several layers claim to be the binary.
 */
export function findWasmLayer(manifest: ImageManifest): Descriptor | undefined {
  const layers = manifest.layers ?? [];
  const typed = layers.filter((l) => isWasmLayerMediaType(l.mediaType));
  if (typed.length > 1) {
    throw new InvalidWasmError(
      'several-layers',
      `the manifest has ${typed.length} wasm layers (${typed.map((l) => l.digest).join(', ')}); expected exactly one`,
    );
  }
  if (typed.length === 1) return typed[0];
  if (layers.length === 1 && !isLayerMediaType(layers[0]!.mediaType)) return layers[0];
  return undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function lastSegment(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/**
 * The name a config gives the module: a `name` or `title` field, an
 * `org.opencontainers.image.title` annotation or label, or the file an image's
 * entrypoint runs when it ends in `.wasm` (runwasi-style images).
 */
export function moduleNameFromConfig(config: unknown): string | undefined {
  const c = record(config);
  if (!c) return undefined;
  const runtime = record(c.config);
  const fromEntrypoint = Array.isArray(runtime?.Entrypoint)
    ? str(runtime.Entrypoint[0])
    : undefined;
  return (
    str(c.name) ??
    str(c.title) ??
    str(record(c.annotations)?.[TITLE_ANNOTATION]) ??
    str(record(runtime?.Labels)?.[TITLE_ANNOTATION]) ??
    str(record(c.labels)?.[TITLE_ANNOTATION]) ??
    (fromEntrypoint?.endsWith('.wasm') ? lastSegment(fromEntrypoint) : undefined)
  );
}

/**
 * The module name: the layer's `org.opencontainers.image.title`, else what the config
 * says (see {@link moduleNameFromConfig}), else the last part of the repository name.
 */
export function moduleNameOf(
  layer: Descriptor | undefined,
  config: unknown,
  ref: Reference | undefined,
): string | undefined {
  return (
    str(layer?.annotations?.[TITLE_ANNOTATION]) ??
    moduleNameFromConfig(config) ??
    (ref ? lastSegment(ref.repository) : undefined)
  );
}

/** Options for {@link wasmInfoOf}. */
export interface WasmInfoOfOptions {
  /** The parsed config blob, for the module name. */
  config?: unknown;
  /** The reference, for the module name fallback. */
  ref?: Reference;
}

/** Build the {@link WasmArtifactInfo} of a manifest already detected as wasm. */
export function wasmInfoOf(
  manifest: ImageManifest,
  detected: { wasiVersion: WasiVersion; signal: WasmSignal },
  options: WasmInfoOfOptions = {},
): WasmArtifactInfo {
  const layer = findWasmLayer(manifest);
  const info: WasmArtifactInfo = {
    wasiVersion: detected.wasiVersion,
    signal: detected.signal,
    annotations: { ...manifest.annotations, ...layer?.annotations },
  };
  if (layer) {
    info.layerDigest = layer.digest;
    info.size = layer.size;
    info.layerMediaType = layer.mediaType;
  }
  const name = moduleNameOf(layer, options.config, options.ref);
  if (name !== undefined) info.moduleName = name;
  return info;
}
