import { isOcipeekError } from '../../errors/index.js';
import type { OpenedImage } from '../../source/index.js';
import { lazyFormatOf } from '../lazy-layer.js';
import {
  type FindSeekIndexOptions,
  findSeekIndex,
  type ImageSeekIndex,
} from './find-seek-index.js';

/**
 * The layers a seek index would serve: those of a registry image (the store and local
 * places are read from disk) that have no TOC of their own. The one rule for whether an
 * index is looked for ({@link findUsableSeekIndex}) or worth building (`seekIndexable`).
 */
export function layersWantingSeekIndex(image: OpenedImage): OpenedImage['layers'] {
  if (image.location !== 'registry') return [];
  return image.layers.filter((l) => !lazyFormatOf(l.descriptor));
}

/**
 * Each layer's tar size as `index` records it, when it covers every layer of `image`
 * (TOC formats record no tar size, so a partly indexed image has none): what `layers`
 * reports for an image read through its index, in the CLI and the explorer alike.
 */
export function seekIndexTarSizes(
  image: OpenedImage,
  index: ImageSeekIndex | undefined,
): number[] | undefined {
  if (index === undefined) return undefined;
  const sizes: number[] = [];
  for (const l of image.layers) {
    const layer = index.layers.get(l.descriptor.digest);
    if (layer === undefined) return undefined;
    sizes.push(layer.index.size);
  }
  return sizes;
}

/**
 * The seek index a reader should use for `image`, by the one rule the CLI and the web
 * explorer share: only an image with layers that want one ({@link layersWantingSeekIndex})
 * looks for it, and an index that cannot be had (a registry error, a broken artifact) is reported
 * through `onWarning` and leaves the image readable the ordinary way. An abort is not
 * swallowed.
 */
export async function findUsableSeekIndex(
  image: OpenedImage,
  options: FindSeekIndexOptions,
): Promise<ImageSeekIndex | undefined> {
  if (layersWantingSeekIndex(image).length === 0) return undefined;
  try {
    return await findSeekIndex(image, options);
  } catch (err) {
    if (!isOcipeekError(err) || options.signal?.aborted) throw err;
    options.onWarning?.(`${image.name}: no seek index used: ${err.message.split('\n')[0]}`);
    return undefined;
  }
}
