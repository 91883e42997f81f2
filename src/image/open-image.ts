import type { Readable } from 'node:stream';
import { digestOf } from '../digest/index.js';
import {
  DigestMismatchError,
  InvalidManifestError,
  PlatformNotFoundError,
} from '../errors/index.js';
import {
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  isIndex,
  type Platform,
  parseImageConfig,
  parseManifest,
} from '../media/index.js';
import { choosePlatform, formatPlatform, hostPlatform, listPlatforms } from '../platform/index.js';
import { parseReference, type Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import type { Store } from '../store/index.js';
import { resolveImage } from './resolve-image.js';

/** One layer of an opened image, bottom layer 0. */
export interface ImageLayer {
  index: number;
  descriptor: Descriptor;
  /** The config's `diff_ids` entry: the uncompressed tar's digest. */
  diffId?: string;
  /** The compressed bytes, size-limited and digest-verified as they stream. */
  open(options?: LayerOpenOptions): Promise<Readable>;
}

/** Options of {@link ImageLayer.open}. */
export interface LayerOpenOptions {
  signal?: AbortSignal;
  /**
   * `false` lets a layer read from the local store skip hashing its compressed bytes
   * (they were verified when stored); for callers that check the uncompressed digest
   * (`diffId`) themselves, which covers every byte they use. Registry reads are always
   * verified: those bytes have been checked by nobody yet.
   */
  verify?: boolean;
}

/** An image resolved to one platform, from the store or a registry. */
export interface OpenedImage {
  /** The full reference. */
  name: string;
  /** What the reference resolves to (an index's digest when it is one). */
  digest: string;
  /** The chosen image manifest's digest. */
  manifestDigest: string;
  manifest: ImageManifest;
  config: ImageConfig;
  platform?: Platform;
  layers: ImageLayer[];
  /** Where the bytes come from. */
  location: 'store' | 'registry';
}

/** Options for {@link openImage}. */
export interface OpenImageOptions {
  /** Used when the image is not in the store. */
  client: RegistryClient;
  /** Looked in first; a stored image needs no network at all. */
  store?: Store;
  /** Platform to choose from an index (default: this host's). */
  platform?: Platform;
  signal?: AbortSignal;
}

/**
 * Open an image for reading its layers: from the store when it holds the reference,
 * else from the registry (streaming, nothing written to disk).
 */
export async function openImage(
  ref: Reference | string,
  options: OpenImageOptions,
): Promise<OpenedImage> {
  const reference = typeof ref === 'string' ? parseReference(ref) : ref;
  if (options.store) {
    const stored = await openStoredImage(options.store, reference, options);
    if (stored) return stored;
  }
  const img = await resolveImage(options.client, reference, {
    platform: options.platform,
    signal: options.signal,
  });
  const manifest = img.image.manifest;
  const config = img.config!;
  const client = options.client;
  return {
    name: reference.toString(),
    digest: img.digest,
    manifestDigest: img.image.digest,
    manifest,
    config,
    platform: img.platform,
    location: 'registry',
    layers: manifest.layers.map((descriptor, index) => ({
      index,
      descriptor,
      diffId: config.rootfs?.diff_ids?.[index],
      open: (o) => client.openBlob(reference, descriptor, { signal: o?.signal ?? options.signal }),
    })),
  };
}

async function readVerified(store: Store, d: Descriptor, signal?: AbortSignal): Promise<Buffer> {
  const bytes = await store.readBlob(d.digest, { signal });
  const alg = d.digest.startsWith('sha512:') ? 'sha512' : 'sha256';
  if (digestOf(bytes, alg) !== d.digest) {
    throw new DigestMismatchError(d.digest, digestOf(bytes, alg), 'stored blob');
  }
  return bytes;
}

async function openStoredImage(
  store: Store,
  ref: Reference,
  options: OpenImageOptions,
): Promise<OpenedImage | undefined> {
  const top = ref.digest
    ? await storedByDigest(store, ref.digest)
    : await store.resolve(ref, { signal: options.signal });
  if (!top) return undefined;
  const { signal } = options;
  let descriptor = top;
  let platform: Platform | undefined;
  let parsed = parseManifest(await readVerified(store, top, signal), top.mediaType);
  if (isIndex(parsed)) {
    const wanted = options.platform ?? hostPlatform();
    const chosen = choosePlatform(parsed.manifests, wanted);
    if (!chosen) {
      throw new PlatformNotFoundError(
        formatPlatform(wanted),
        listPlatforms(parsed.manifests).map(formatPlatform),
      );
    }
    if ((await store.hasBlob(chosen.digest)) === undefined) return undefined;
    descriptor = chosen;
    platform = chosen.platform;
    parsed = parseManifest(await readVerified(store, chosen, signal), chosen.mediaType);
    if (isIndex(parsed)) throw new InvalidManifestError(`index ${top.digest} nests another index`);
  }
  const manifest = parsed;
  const config = parseImageConfig(await readVerified(store, manifest.config, signal));
  platform ??= config.os ? { os: config.os, architecture: config.architecture } : undefined;
  return {
    name: ref.toString(),
    digest: top.digest,
    manifestDigest: descriptor.digest,
    manifest,
    config,
    platform,
    location: 'store',
    layers: manifest.layers.map((d, index) => ({
      index,
      descriptor: d,
      diffId: config.rootfs?.diff_ids?.[index],
      open: async (o) =>
        store.openBlob(d.digest, {
          signal: o?.signal ?? signal,
          ...(o?.verify === false ? { verify: false } : {}),
        }),
    })),
  };
}

/** A digest reference is in the store when its manifest blob is. */
async function storedByDigest(store: Store, digest: string): Promise<Descriptor | undefined> {
  const size = await store.hasBlob(digest);
  if (size === undefined) return undefined;
  const refs = await store.refs();
  const named = refs.find((r) => r.descriptor.digest === digest);
  if (named) return named.descriptor;
  const bytes = await store.readBlob(digest);
  const m = parseManifest(bytes);
  return {
    mediaType:
      m.mediaType ??
      (isIndex(m)
        ? 'application/vnd.oci.image.index.v1+json'
        : 'application/vnd.oci.image.manifest.v1+json'),
    digest,
    size,
  };
}
