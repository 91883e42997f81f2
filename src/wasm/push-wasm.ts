import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { digestOf } from '../digest/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { type Descriptor, type ImageManifest, MediaType } from '../media/index.js';
import { parseReference, type Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import { requiredOption } from '../util/required-option.js';
import { parseWasmHeader, type WasmHeader } from './binary.js';
import { type ComponentWorld, componentWorld } from './component-world.js';
import { TITLE_ANNOTATION, WASM_ARCHITECTURE, WasmMediaType } from './media-types.js';

/**
 * The config of a wasm artifact, as the CNCF TAG Runtime "Wasm OCI Artifact" layout
 * defines it (`application/vnd.wasm.config.v0+json`, fields as oci-wasm writes them).
 */
export interface WasmConfig {
  /** RFC 3339 creation time. */
  created: string;
  author?: string;
  /** Always `wasm`. */
  architecture: 'wasm';
  /** `wasip1` for a core module, `wasip2` for a component. */
  os: 'wasip1' | 'wasip2';
  /** The manifest's layer digests, in order (keeps the config digest unique per artifact). */
  layerDigests: string[];
  /** For components: the top-level names they import and export. */
  component?: ComponentWorld;
}

/** Options for {@link buildWasmArtifact}. */
export interface BuildWasmArtifactOptions {
  /** The layer's `org.opencontainers.image.title` (the file name). Default `module.wasm`. */
  title?: string;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
  /** Config `created`. Default: now. */
  created?: string;
  /** Config `author`. */
  author?: string;
}

/** A wasm artifact ready to upload: every object with its exact bytes. */
export interface WasmArtifact {
  header: WasmHeader;
  /** `application/vnd.wasm.component.v1+wasm` or `application/vnd.wasm.module.v1+wasm`. */
  artifactType: string;
  config: WasmConfig;
  configBytes: Buffer;
  configDescriptor: Descriptor;
  /** The `application/wasm` layer (its blob is the binary itself). */
  layer: Descriptor;
  manifest: ImageManifest;
  manifestBytes: Buffer;
  /** `sha256:` digest of `manifestBytes`. */
  manifestDigest: string;
}

/**
 * Describe `binary` as a standard OCI artifact: an OCI image manifest whose
 * `artifactType` is chosen from the binary's header, a wasm config
 * (`application/vnd.wasm.config.v0+json`) and one `application/wasm` layer titled with
 * the file name. Throws `InvalidWasmError` when `binary` is not WebAssembly.
 */
export function buildWasmArtifact(
  binary: Uint8Array,
  options: BuildWasmArtifactOptions = {},
): WasmArtifact {
  const header = parseWasmHeader(binary, options.title ?? 'the file');
  const isComponent = header.kind === 'component';
  const layer: Descriptor = {
    mediaType: WasmMediaType.layer,
    digest: digestOf(binary, 'sha256'),
    size: binary.length,
    annotations: { [TITLE_ANNOTATION]: options.title ?? 'module.wasm' },
  };
  const config: WasmConfig = {
    created: options.created ?? new Date().toISOString(),
    ...(options.author ? { author: options.author } : {}),
    architecture: WASM_ARCHITECTURE,
    os: isComponent ? 'wasip2' : 'wasip1',
    layerDigests: [layer.digest],
  };
  if (isComponent) config.component = componentWorld(binary);
  const configBytes = Buffer.from(JSON.stringify(config), 'utf8');
  const configDescriptor: Descriptor = {
    mediaType: WasmMediaType.configV0,
    digest: digestOf(configBytes, 'sha256'),
    size: configBytes.length,
  };
  const artifactType = isComponent ? WasmMediaType.componentArtifact : WasmMediaType.moduleArtifact;
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType,
    config: configDescriptor,
    layers: [layer],
  };
  if (options.annotations && Object.keys(options.annotations).length > 0) {
    manifest.annotations = { ...options.annotations };
  }
  const manifestBytes = Buffer.from(JSON.stringify(manifest), 'utf8');
  return {
    header,
    artifactType,
    config,
    configBytes,
    configDescriptor,
    layer,
    manifest,
    manifestBytes,
    manifestDigest: digestOf(manifestBytes, 'sha256'),
  };
}

/** Options for {@link pushWasm}. */
export interface PushWasmOptions extends BuildWasmArtifactOptions {
  /** The client the artifact is uploaded through. */
  client: RegistryClient;
  signal?: AbortSignal;
}

/** What {@link pushWasm} published. */
export interface PushedWasm extends WasmArtifact {
  /** Where it was published (tag or digest). */
  ref: Reference;
}

/**
 * Publish a wasm module or component (a file path or its bytes) as an OCI artifact at
 * `ref` (see {@link buildWasmArtifact}). The binary is checked before anything is
 * uploaded; the blobs go up first, the manifest last.
 *
 * @example
 * const pushed = await pushWasm('./hello.wasm', '127.0.0.1:5000/hello:1', { client });
 * console.log(pushed.manifestDigest, pushed.artifactType);
 */
export async function pushWasm(
  source: string | Uint8Array,
  refInput: Reference | string,
  options: PushWasmOptions,
): Promise<PushedWasm> {
  const client = requiredOption(options, 'client', 'pushWasm(module, ref, { client })');
  const { signal } = options;
  const ref = typeof refInput === 'string' ? parseReference(refInput) : refInput;
  const binary = typeof source === 'string' ? await readFile(source, { signal }) : source;
  const title = options.title ?? (typeof source === 'string' ? basename(source) : undefined);
  const artifact = buildWasmArtifact(binary, { ...options, title });
  if (ref.digest && ref.digest !== artifact.manifestDigest) {
    throw new InvalidArgumentError(
      `${ref} names digest ${ref.digest} but the artifact's manifest is ${artifact.manifestDigest}`,
    );
  }
  await client.uploadBlob(ref, artifact.layer, Buffer.from(binary), { signal });
  await client.uploadBlob(ref, artifact.configDescriptor, artifact.configBytes, { signal });
  await client.putManifest(ref, artifact.manifestBytes, MediaType.ociManifest, { signal });
  return { ...artifact, ref };
}
