import { InvalidManifestError, PlatformNotFoundError } from '../errors/index.js';
import {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  isIndex,
  MediaType,
  type Platform,
} from '../media/index.js';
import {
  choosePlatform,
  formatPlatform,
  hostPlatform,
  isAttestationEntry,
  listPlatforms,
} from '../platform/index.js';
import { parseReference, type Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import { requiredOption } from '../util/required-option.js';
import { type WasmArtifactInfo, wasmInfoOf } from './artifact-info.js';
import { type ArtifactType, detectArtifactType, isWasmPlatform } from './detect.js';

/** Configs larger than this are not read for detection (a wasm config is a few hundred bytes). */
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/** Options for {@link inspectWasm}. */
export interface InspectWasmOptions {
  /** The client the manifest and config are read through. */
  client: RegistryClient;
  /**
   * Platform to pick from an index. Default: the index's first `wasm` architecture entry,
   * else the host's platform.
   */
  platform?: Platform;
  signal?: AbortSignal;
}

/** What {@link inspectWasm} found: the detection, and the wasm details when it is wasm. */
export interface WasmInspection {
  /** The reference as asked. */
  ref: Reference;
  /** The digest the reference resolves to (the index's own when it names an index). */
  digest: string;
  /** The digest of the chosen image manifest. */
  manifestDigest: string;
  /** The chosen image manifest. */
  manifest: ImageManifest;
  /** The index entry that was chosen, when the reference names an index. */
  indexEntry?: Descriptor;
  /** The parsed config blob (undefined when it is not JSON). */
  config?: unknown;
  /** Container or wasm, and by which signal. */
  type: ArtifactType;
  /** Layer, size, name and annotations; present when `type.kind` is `wasm`. */
  info?: WasmArtifactInfo;
}

/**
 * The index entry to inspect: the wanted platform when one is given; otherwise the first
 * `wasm` architecture entry, else the host's platform.
 */
export function chooseWasmEntry(index: ImageIndex, wanted?: Platform): Descriptor {
  const entries = index.manifests.filter((d) => !isAttestationEntry(d));
  const chosen = wanted
    ? choosePlatform(entries, wanted)
    : (entries.find((d) => isWasmPlatform(d.platform)) ?? choosePlatform(entries, hostPlatform()));
  if (!chosen) {
    throw new PlatformNotFoundError(
      formatPlatform(wanted ?? hostPlatform()),
      listPlatforms(index.manifests).map(formatPlatform),
    );
  }
  return chosen;
}

async function readConfig(
  client: RegistryClient,
  ref: Reference,
  manifest: ImageManifest,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  const desc = manifest.config;
  if (!desc || desc.mediaType === MediaType.ociEmpty || desc.size > MAX_CONFIG_BYTES) {
    return undefined;
  }
  const bytes = await client.readBlob(ref, desc, { signal, maxBytes: MAX_CONFIG_BYTES });
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    // Artifact configs need not be JSON; detection then relies on the manifest alone.
    return undefined;
  }
}

/**
 * Tell whether `ref` is a WebAssembly artifact or a container image, and describe the
 * wasm layer, from the manifest and config only: no layer blob is fetched.
 *
 * @example
 * const { type, info } = await inspectWasm('127.0.0.1:5000/hello:1', { client });
 * if (type.kind === 'wasm') console.log(info?.wasiVersion, info?.layerDigest);
 */
export async function inspectWasm(
  refInput: Reference | string,
  options: InspectWasmOptions,
): Promise<WasmInspection> {
  const client = requiredOption(options, 'client', 'inspectWasm(ref, { client })');
  const { signal } = options;
  const ref = typeof refInput === 'string' ? parseReference(refInput) : refInput;
  const top = await client.getManifest(ref, { signal });
  let image = top;
  let indexEntry: Descriptor | undefined;
  if (isIndex(top.manifest)) {
    indexEntry = chooseWasmEntry(top.manifest, options.platform);
    image = await client.getManifest(ref.withDigest(indexEntry.digest), { signal });
    if (isIndex(image.manifest)) {
      throw new InvalidManifestError(
        `index ${top.digest} points at another index ${indexEntry.digest}`,
      );
    }
  }
  const manifest = image.manifest as ImageManifest;
  const config = await readConfig(client, ref, manifest, signal);
  const type = detectArtifactType(manifest, config, indexEntry);
  const result: WasmInspection = {
    ref,
    digest: top.digest,
    manifestDigest: image.digest,
    manifest,
    type,
  };
  if (indexEntry) result.indexEntry = indexEntry;
  if (config !== undefined) result.config = config;
  if (type.kind === 'wasm') result.info = wasmInfoOf(manifest, type, { config, ref });
  return result;
}
