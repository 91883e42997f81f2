import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { parseDigest } from '../digest/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { MediaType } from '../media/index.js';
import type { Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import { RegistrySource } from '../registry/registry-place.js';
import type { ImageLayer } from '../source/index.js';
import { openImage } from '../source/index.js';
import { type UnpackResult, unpackLayers } from '../unpack/index.js';

/** Options of {@link getIsletImage}. */
export interface GetIsletImageOptions {
  client: RegistryClient;
  signal?: AbortSignal;
  /** Record owners instead of chowning (default: when not root). */
  rootless?: boolean;
}

/** What {@link getIsletImage} unpacked. */
export interface GetIsletImageResult extends UnpackResult {
  /** The image manifest's digest. */
  manifestDigest: string;
}

/**
 * islet's `get_image`: the image `ref` names, fetched and unpacked into `dest` (new or
 * empty, as every unpack). Unlike islet's client, every blob is checked against its digest and size as it
 * streams, and every layer against its diff_id (a layer without one is refused).
 */
export async function getIsletImage(
  ref: Reference,
  dest: string,
  options: GetIsletImageOptions,
): Promise<GetIsletImageResult> {
  const image = await openImage(new RegistrySource(ref, { client: options.client }), {
    signal: options.signal,
  });
  try {
    const result = await unpackLayers(image.layers, dest, {
      verify: true,
      rootless: options.rootless,
      signal: options.signal,
    });
    return { ...result, manifestDigest: image.manifestDigest };
  } finally {
    await image.close();
  }
}

/** islet's layer types (`unpack -t`), as media types. */
export const ISLET_LAYER_TYPES: Readonly<Record<string, string>> = {
  tar: MediaType.ociLayer,
  'tar-gz': MediaType.ociLayerGzip,
  'tar-zstd': MediaType.ociLayerZstd,
};

/**
 * A layer file on disk as an image layer (islet's `unpack -l FILE -t TYPE -i DIFF_ID`):
 * its compressed digest and size are read from the file first, so the bytes unpacked are
 * the bytes described; the diff_id is checked by the unpack.
 */
export async function isletLayerFile(
  file: string,
  type: string,
  diffId: string,
): Promise<ImageLayer> {
  const mediaType = ISLET_LAYER_TYPES[type];
  if (!mediaType) {
    throw new InvalidArgumentError(
      `layer type must be one of ${Object.keys(ISLET_LAYER_TYPES).join(', ')}, got "${type}"`,
    );
  }
  parseDigest(diffId);
  const hash = createHash('sha256');
  let size = 0;
  try {
    await pipeline(createReadStream(file), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
      }
    });
  } catch (err) {
    throw new InvalidArgumentError(`cannot read layer ${file}: ${(err as Error).message}`);
  }
  return {
    index: 0,
    descriptor: { mediaType, digest: `sha256:${hash.digest('hex')}`, size },
    diffId,
    open: async () => createReadStream(file),
  };
}
