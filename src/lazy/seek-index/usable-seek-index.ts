import { isOcipeekError } from '../../errors/index.js';
import type { OpenedImage } from '../../source/index.js';
import { lazyFormatOf } from '../lazy-layer.js';
import {
  type FindSeekIndexOptions,
  findSeekIndex,
  type ImageSeekIndex,
} from './find-seek-index.js';

/**
 * The seek index a reader should use for `image`, by the one rule the CLI and the web
 * explorer share: only a registry image with a layer that has no TOC of its own looks for
 * one, and an index that cannot be had (a registry error, a broken artifact) is reported
 * through `onWarning` and leaves the image readable the ordinary way. An abort is not
 * swallowed.
 */
export async function findUsableSeekIndex(
  image: OpenedImage,
  options: FindSeekIndexOptions,
): Promise<ImageSeekIndex | undefined> {
  if (image.location !== 'registry') return undefined;
  if (image.layers.every((l) => lazyFormatOf(l.descriptor))) return undefined;
  try {
    return await findSeekIndex(image, options);
  } catch (err) {
    if (!isOcipeekError(err) || options.signal?.aborted) throw err;
    options.onWarning?.(`${image.name}: no seek index used: ${err.message.split('\n')[0]}`);
    return undefined;
  }
}
