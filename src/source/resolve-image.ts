import {
  InvalidManifestError,
  NotFoundError,
  PlatformNotFoundError,
  TooLargeError,
} from '../errors/index.js';
import {
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  isIndex,
  type Manifest,
  type Platform,
  parseImageConfig,
  parseManifest,
} from '../media/index.js';
import { requirePlatform } from '../platform/index.js';
import type { ImageSource, ManifestBytes } from './types.js';

/** Options for {@link resolveImage}. */
export interface ResolveImageOptions {
  /** Platform to pick from an index; the host's by default. */
  platform?: Platform;
  /**
   * The index entry to open, one of the index's `manifests`, instead of choosing by
   * `platform` (an edit of every platform opens each in turn).
   */
  entry?: Descriptor;
  /** Also read and parse the config blob (default true). */
  config?: boolean;
  signal?: AbortSignal;
}

/** A manifest as the place holds it, with its parsed form. */
export type ParsedManifest<M extends Manifest = Manifest> = ManifestBytes & { manifest: M };

/** What a place names, resolved down to one platform's manifest (and config). */
export interface ResolvedImage {
  /** The digest the place resolves to (an index's own digest when it is an index). */
  digest: string;
  /** The top-level manifest or index as the place holds it. */
  top: ParsedManifest;
  /** The index, when the place names one. */
  index?: ImageIndex;
  /** The chosen image manifest. */
  image: ParsedManifest<ImageManifest>;
  /** The descriptor of the chosen image manifest (with `platform` when from an index). */
  descriptor: Descriptor;
  /** The platform of the chosen manifest (from the index entry, else the config). */
  platform?: Platform;
  /** The parsed config, unless `config: false` was asked. */
  config?: ImageConfig;
  /** The config blob bytes (verified). */
  configBytes?: Buffer;
}

function parsed(m: ManifestBytes): ParsedManifest {
  return { ...m, manifest: parseManifest(m.bytes, m.mediaType) };
}

/**
 * `requirePlatform`, and when the store lacks the platform, how to get it: the store
 * keeps the platforms that were pulled (a partial index, see `store/partial-index.ts`).
 */
function choosePlatformOf(
  source: ImageSource,
  manifests: Descriptor[],
  wanted: Platform | undefined,
): Descriptor {
  try {
    return requirePlatform(manifests, wanted);
  } catch (err) {
    if (!(err instanceof PlatformNotFoundError) || source.kind !== 'store') throw err;
    const name = source.imageName ?? 'the image';
    throw new PlatformNotFoundError(
      err.wanted,
      err.available,
      `the store holds the platforms pulled; pull ${name} with --platform ${err.wanted} or --all-platforms`,
    );
  }
}

/**
 * Read what `source` names and, for an index, choose the platform's manifest
 * (attestation entries are never chosen). Fails with `PlatformNotFoundError` naming the
 * platforms the index has. The one resolution every reader of an image goes through,
 * whatever place the image is in.
 */
export async function resolveImage(
  source: ImageSource,
  options: ResolveImageOptions = {},
): Promise<ResolvedImage> {
  const { signal } = options;
  const top = parsed(await source.root({ signal }));
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
    descriptor = options.entry
      ? entryOf(index, options.entry, top.digest)
      : choosePlatformOf(source, index.manifests, options.platform);
    platform = descriptor.platform;
    image = parsed(await source.manifest(descriptor, { signal }));
    if (isIndex(image.manifest)) {
      throw new InvalidManifestError(
        `index ${top.digest} points at another index ${descriptor.digest}`,
      );
    }
  }
  const result: ResolvedImage = {
    digest: top.digest,
    top,
    index,
    image: image as ParsedManifest<ImageManifest>,
    descriptor,
    platform,
  };
  if (options.config !== false) {
    result.configBytes = await readConfig(source, result.image.manifest.config, signal);
    result.config = parseImageConfig(result.configBytes);
    result.platform ??= configPlatform(result.config);
  }
  return result;
}

/** `entry` as `index` lists it (an entry the index lacks is refused). */
function entryOf(index: ImageIndex, entry: Descriptor, indexDigest: string): Descriptor {
  const found = index.manifests.find((d) => d.digest === entry.digest);
  if (!found) throw new NotFoundError(`index ${indexDigest} has no entry ${entry.digest}`);
  return found;
}

/** Configs are read whole; one bigger than this is refused (a few KiB is usual). */
const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

/** A config is small: read it whole through the verified blob stream. */
async function readConfig(
  source: ImageSource,
  desc: Descriptor,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  if (desc.size > MAX_CONFIG_BYTES)
    throw new TooLargeError(`config ${desc.digest}`, MAX_CONFIG_BYTES);
  const parts: Buffer[] = [];
  for await (const chunk of await source.openBlob(desc, { signal })) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

function configPlatform(config: ImageConfig): Platform | undefined {
  if (!config.os || !config.architecture) return undefined;
  const p: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant) p.variant = config.variant;
  return p;
}
