import { InvalidWasmError, TooLargeError, UnsupportedError } from '../errors/index.js';
import type { Platform } from '../media/index.js';
import type { Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import { requiredOption } from '../util/required-option.js';
import type { WasmArtifactInfo } from './artifact-info.js';
import { parseWasmHeader, type WasmHeader, wasiVersionOfKind } from './binary.js';
import { inspectWasm, type WasmInspection } from './inspect-wasm.js';
import { readModuleFromLayers, runwasiModulePath } from './runwasi-module.js';

/** The largest wasm layer {@link pullWasm} reads into memory by default (1 GiB). */
export const DEFAULT_MAX_WASM_BYTES = 1024 * 1024 * 1024;

/** Options for {@link pullWasm}. */
export interface PullWasmOptions {
  /** The client the artifact is read through. */
  client: RegistryClient;
  /** Platform to pick from an index (see `inspectWasm`). */
  platform?: Platform;
  /** Refuse layers larger than this many bytes, before fetching them. Default 1 GiB. */
  maxBytes?: number;
  signal?: AbortSignal;
}

/** A pulled, verified wasm binary. */
export interface PulledWasm {
  /** The binary, digest-verified against the manifest and checked for the `\0asm` magic. */
  bytes: Buffer;
  /** The artifact info, with `wasiVersion` refined from the binary when the manifest did not say. */
  info: WasmArtifactInfo;
  /** For runwasi-style images: the path of the module inside the image's filesystem. */
  modulePath?: string;
  /** The binary's header: core module or component. */
  header: WasmHeader;
  /** What the manifest and config said. */
  inspection: WasmInspection;
}

/**
 * Download the wasm layer of `ref` (and nothing else but the manifest and config),
 * verify it against its digest, check the `\0asm` magic, and read from the header
 * whether it is a core module or a component. When the manifest did not name the WASI
 * version, the binary decides it: a module is preview 1, a component preview 2.
 *
 * Fails with {@link InvalidWasmError} for a container image, several wasm layers, an
 * empty layer or a blob that is not WebAssembly. For runwasi-style images (filesystem
 * layers, platform `wasi/wasm`) the module is the `.wasm` file the entrypoint names, read
 * from the layers; {@link UnsupportedError} when the entrypoint names none.
 */
export async function pullWasm(
  ref: Reference | string,
  options: PullWasmOptions,
): Promise<PulledWasm> {
  const client = requiredOption(options, 'client', 'pullWasm(ref, { client })');
  const { signal } = options;
  const inspection = await inspectWasm(ref, options);
  const name = inspection.ref.toString();
  if (inspection.type.kind !== 'wasm' || !inspection.info) {
    throw new InvalidWasmError('not-wasm', `${name} is a container image, not a wasm artifact`);
  }
  const info = inspection.info;
  const limit = options.maxBytes ?? DEFAULT_MAX_WASM_BYTES;
  let bytes: Buffer;
  let modulePath: string | undefined;
  if (info.layerDigest === undefined || info.size === undefined) {
    if ((inspection.manifest.layers ?? []).length === 0) {
      throw new InvalidWasmError('no-layer', `${name} is a wasm artifact without layers`);
    }
    modulePath = runwasiModulePath(inspection.config);
    if (modulePath === undefined) {
      throw new UnsupportedError(
        `${name} keeps its wasm binary inside filesystem layers and its entrypoint names no .wasm file; read it with "ocipeek cat"`,
      );
    }
    const manifestRef = inspection.ref.withDigest(inspection.manifestDigest);
    bytes = await readModuleFromLayers(client, manifestRef, modulePath, {
      maxBytes: limit,
      signal,
    });
  } else {
    if (info.size === 0) {
      throw new InvalidWasmError('empty', `the wasm layer ${info.layerDigest} of ${name} is empty`);
    }
    if (info.size > limit) throw new TooLargeError(`wasm layer ${info.layerDigest}`, limit);
    bytes = await client.readBlob(
      inspection.ref,
      { digest: info.layerDigest, size: info.size },
      { signal, maxBytes: limit },
    );
  }
  const what = modulePath
    ? `${modulePath} in ${name}`
    : `the wasm layer ${info.layerDigest} of ${name}`;
  const header = parseWasmHeader(bytes, what);
  const refined: WasmArtifactInfo = { ...info };
  if (refined.wasiVersion === 'unknown') refined.wasiVersion = wasiVersionOfKind(header.kind);
  const pulled: PulledWasm = { bytes, info: refined, header, inspection };
  if (modulePath !== undefined) pulled.modulePath = modulePath;
  return pulled;
}
