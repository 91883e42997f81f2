import type { ImageConfig, ImageManifest, Platform } from '../media/index.js';
import type { ImageLayer } from './image-layer.js';
import { type ResolveImageOptions, resolveImage } from './resolve-image.js';
import { sourceName } from './source-name.js';
import type { ImageSource, PlaceKind } from './types.js';

/** An image resolved to one platform, its layers readable from wherever it is. */
export interface OpenedImage {
  /**
   * How the image is named: the full reference for registry and store images (what
   * `parseReference` reads back), else the place as given (`oci:/tmp/x:v1`).
   */
  name: string;
  /** The full reference the place records for the image, if any (for naming copies). */
  imageName?: string;
  /** What the place resolves to (an index's digest when it is one). */
  digest: string;
  /** The chosen image manifest's digest. */
  manifestDigest: string;
  manifest: ImageManifest;
  config: ImageConfig;
  platform?: Platform;
  layers: ImageLayer[];
  /** Which kind of place the bytes come from. */
  location: PlaceKind;
  /** The place itself (its `close()` is the image's). */
  source: ImageSource;
  /** Release what the place holds (an archive's extracted folder, connections). */
  close(): Promise<void>;
}

/** Options for {@link openImage}. */
export type OpenImageOptions = Omit<ResolveImageOptions, 'config'>;

/**
 * Resolve what `source` names to one platform (the host's unless `platform` says) and
 * give its layers: each `open()` streams the compressed bytes from the place, verified.
 * The image owns `source` from here: closing one closes the other.
 *
 * @example
 * ```ts
 * const image = await openImage(await openSource('oci:/tmp/layout:v1'));
 * try {
 *   const { fs } = await buildFilesystem(image);
 * } finally {
 *   await image.close();
 * }
 * ```
 */
export async function openImage(
  source: ImageSource,
  options: OpenImageOptions = {},
): Promise<OpenedImage> {
  const resolved = await resolveImage(source, options);
  const manifest = resolved.image.manifest;
  const config = resolved.config as ImageConfig;
  const layers = manifest.layers.map(
    (descriptor, index): ImageLayer => ({
      index,
      descriptor,
      diffId: config.rootfs?.diff_ids?.[index],
      open: (o = {}) =>
        source.openBlob(descriptor, {
          signal: o.signal ?? options.signal,
          ...(o.verify === false ? { verify: false } : {}),
        }),
    }),
  );
  return {
    name: sourceName(source),
    imageName: source.imageName,
    digest: resolved.digest,
    manifestDigest: resolved.image.digest,
    manifest,
    config,
    platform: resolved.platform,
    layers,
    location: source.kind,
    source,
    close: () => source.close(),
  };
}
