import type { ImageFilesystem } from '../fs/index.js';
import { type LazyImage, openLazyImage } from '../lazy/index.js';
import { type CliImage, cliFilesystem } from './image-source.js';

/**
 * The image opened through its eStargz / zstd:chunked TOCs when every layer announces one
 * (listings and single files then cost a few range requests); `undefined` for ordinary
 * images, decided from the annotations alone.
 */
export async function openCliLazyImage(img: CliImage): Promise<LazyImage | undefined> {
  // The TOC readers take ranges from a registry or the store; local layouts and
  // archives are read whole (they are on disk already).
  if (img.image.location !== 'registry' && img.image.location !== 'store') return undefined;
  const store = img.image.location === 'store' ? img.store : undefined;
  return openLazyImage(img.image, { client: img.ctx.client, store, signal: img.ctx.signal });
}

/**
 * The merged filesystem for commands that only look at entries (`ls`, `tree`, `stat`,
 * `find`): from the TOCs of a lazy image, else built from the layers (and cached).
 */
export async function cliFilesystemView(img: CliImage): Promise<ImageFilesystem> {
  return (await openCliLazyImage(img))?.fs ?? (await cliFilesystem(img, { efficiency: false })).fs;
}
