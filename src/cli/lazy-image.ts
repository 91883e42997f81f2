import type { Readable } from 'node:stream';
import type { ImageFilesystem } from '../fs/index.js';
import { type LazyImage, openLazyFile, openLazyImage } from '../lazy/index.js';
import { type CliImage, cliFilesystem, warnRefused } from './image-source.js';

/**
 * The image opened through its eStargz / zstd:chunked TOCs when every layer announces one
 * (listings and single files then cost a few range requests); `undefined` for ordinary
 * images, decided from the annotations alone.
 */
export async function openCliLazyImage(img: CliImage): Promise<LazyImage | undefined> {
  const options = lazyOptions(img);
  return options && openLazyImage(img.image, options);
}

/**
 * The file at `path` of an image whose every layer announces a TOC, read from the top
 * layer's TOC down only as far as needed; `undefined` for ordinary images.
 */
export async function openCliLazyFile(img: CliImage, path: string): Promise<Readable | undefined> {
  const options = lazyOptions(img);
  return options && openLazyFile(img.image, path, options);
}

/** Where the TOC readers take ranges from; `undefined` for images that are not lazy here. */
function lazyOptions(img: CliImage) {
  // The TOC readers take ranges from a registry or the store; local layouts and
  // archives are read whole (they are on disk already).
  if (img.image.location !== 'registry' && img.image.location !== 'store') return undefined;
  const store = img.image.location === 'store' ? img.store : undefined;
  return { client: img.ctx.client, store, signal: img.ctx.signal };
}

/**
 * The merged filesystem for commands that only look at entries (`ls`, `tree`, `stat`,
 * `find`): from the TOCs of a lazy image, else built from the layers (and cached).
 */
export async function cliFilesystemView(img: CliImage): Promise<ImageFilesystem> {
  const lazy = await openCliLazyImage(img);
  if (lazy === undefined) return (await cliFilesystem(img, { efficiency: false })).fs;
  warnRefused(lazy.fs);
  return lazy.fs;
}
