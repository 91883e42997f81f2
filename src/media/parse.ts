import { InvalidManifestError, UnsupportedError } from '../errors/index.js';
import {
  isImageManifestMediaType,
  isIndexMediaType,
  isSchema1MediaType,
  MediaType,
} from './media-types.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Manifest } from './types.js';

/** True when the parsed manifest is an index (has `manifests`). */
export function isIndex(manifest: Manifest): manifest is ImageIndex {
  return Array.isArray((manifest as ImageIndex).manifests);
}

function assertDescriptor(value: unknown, where: string): asserts value is Descriptor {
  const d = value as Descriptor;
  if (
    typeof d !== 'object' ||
    d === null ||
    typeof d.mediaType !== 'string' ||
    typeof d.digest !== 'string' ||
    typeof d.size !== 'number' ||
    !Number.isSafeInteger(d.size) ||
    d.size < 0
  ) {
    throw new InvalidManifestError(`${where} is not a valid descriptor`);
  }
}

/**
 * Parse manifest bytes and check their shape. `contentType` is the media type the server
 * (or the referring descriptor) announced; the body's own `mediaType` wins when present.
 * Docker schema1 is refused with a clear "unsupported" error.
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new InvalidManifestError('manifest is not valid JSON', { cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidManifestError('manifest is not a JSON object');
  }
  const m = json as Record<string, unknown>;
  const mediaType = typeof m.mediaType === 'string' ? m.mediaType : contentType;
  if (m.schemaVersion === 1 || isSchema1MediaType(mediaType)) {
    throw new UnsupportedError(
      'Docker schema1 manifests are unsupported (deprecated since 2017); re-push the image with a current client',
    );
  }
  if (m.schemaVersion !== 2) {
    throw new InvalidManifestError(`unexpected schemaVersion ${String(m.schemaVersion)}`);
  }
  if (Array.isArray(m.manifests) || isIndexMediaType(mediaType)) {
    if (!Array.isArray(m.manifests)) throw new InvalidManifestError('index has no manifests');
    for (const [i, d] of m.manifests.entries()) assertDescriptor(d, `manifests[${i}]`);
    return m as unknown as ImageIndex;
  }
  if (m.config !== undefined || isImageManifestMediaType(mediaType)) {
    assertDescriptor(m.config, 'config');
    if (!Array.isArray(m.layers)) throw new InvalidManifestError('manifest has no layers array');
    for (const [i, d] of m.layers.entries()) assertDescriptor(d, `layers[${i}]`);
    return m as unknown as ImageManifest;
  }
  throw new InvalidManifestError(`unrecognised manifest (mediaType ${mediaType ?? 'missing'})`);
}

/** The media type of a manifest: its own field, else the one implied by its shape. */
export function manifestMediaType(manifest: Manifest, announced?: string): string {
  if (manifest.mediaType) return manifest.mediaType;
  if (announced && announced !== 'application/json') return announced;
  return isIndex(manifest) ? MediaType.ociIndex : MediaType.ociManifest;
}

/** Parse an image config blob. */
export function parseImageConfig(bytes: Uint8Array): ImageConfig {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new InvalidManifestError('image config is not valid JSON', { cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidManifestError('image config is not a JSON object');
  }
  return json as ImageConfig;
}
