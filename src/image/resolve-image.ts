import { InvalidManifestError, PlatformNotFoundError } from '../errors/index.js';
import {
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  isIndex,
  type Platform,
  parseImageConfig,
} from '../media/index.js';
import { choosePlatform, formatPlatform, hostPlatform, listPlatforms } from '../platform/index.js';
import type { Reference } from '../ref/index.js';
import type { FetchedManifest, RegistryClient } from '../registry/index.js';

/** Options for {@link resolveImage}. */
export interface ResolveImageOptions {
  /** Platform to pick from an index; the host's by default. */
  platform?: Platform;
  /** Also fetch and parse the config blob (default true). */
  config?: boolean;
  signal?: AbortSignal;
}

/** An image reference resolved down to one platform's manifest (and config). */
export interface ResolvedImage {
  /** The reference as asked. */
  ref: Reference;
  /** The digest the reference resolves to (an index's own digest when it is an index). */
  digest: string;
  /** The top-level manifest as served. */
  top: FetchedManifest;
  /** The index, when the reference named one. */
  index?: ImageIndex;
  /** The chosen image manifest as served. */
  image: FetchedManifest & { manifest: ImageManifest };
  /** The descriptor of the chosen image manifest (with `platform` when from an index). */
  descriptor: Descriptor;
  /** The platform of the chosen manifest (from the index entry, else the config). */
  platform?: Platform;
  /** The parsed config, unless `config: false` was asked. */
  config?: ImageConfig;
  /** The config blob bytes. */
  configBytes?: Buffer;
}

/**
 * Fetch what a reference points at and, for an index, choose the platform's manifest
 * (attestation entries are never chosen). Fails with {@link PlatformNotFoundError}
 * naming the platforms the index has.
 */
export async function resolveImage(
  client: RegistryClient,
  ref: Reference,
  options: ResolveImageOptions = {},
): Promise<ResolvedImage> {
  const signal = options.signal;
  const top = await client.getManifest(ref, { signal });
  let image = top;
  let descriptor: Descriptor = {
    mediaType: top.mediaType,
    digest: top.digest,
    size: top.bytes.length,
  };
  let index: ImageIndex | undefined;
  let platform: Platform | undefined;
  if (isIndex(top.manifest)) {
    index = top.manifest;
    const wanted = options.platform ?? hostPlatform();
    const chosen = choosePlatform(index.manifests, wanted);
    if (!chosen) {
      throw new PlatformNotFoundError(
        formatPlatform(wanted),
        listPlatforms(index.manifests).map(formatPlatform),
      );
    }
    descriptor = chosen;
    platform = chosen.platform;
    image = await client.getManifest(ref.withDigest(chosen.digest), { signal });
    if (isIndex(image.manifest)) {
      throw new InvalidManifestError(
        `index ${top.digest} points at another index ${chosen.digest}`,
      );
    }
  }
  const manifest = image.manifest as ImageManifest;
  const result: ResolvedImage = {
    ref,
    digest: top.digest,
    top,
    index,
    image: image as FetchedManifest & { manifest: ImageManifest },
    descriptor,
    platform,
  };
  if (options.config !== false) {
    result.configBytes = await client.readBlob(ref, manifest.config, { signal });
    result.config = parseImageConfig(result.configBytes);
    result.platform ??= configPlatform(result.config);
  }
  return result;
}

function configPlatform(config: ImageConfig): Platform | undefined {
  if (!config.os || !config.architecture) return undefined;
  const p: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant) p.variant = config.variant;
  return p;
}
