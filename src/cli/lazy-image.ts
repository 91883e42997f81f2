import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ImageFilesystem } from '../fs/index.js';
import { type LazyImage, openLazyFile, openLazyImage } from '../lazy/lazy-image.js';
import type { ImageSeekIndex } from '../lazy/seek-index/find-seek-index.js';
import { findUsableSeekIndex, seekIndexTarSizes } from '../lazy/seek-index/usable-seek-index.js';
import { defaultStorePath } from '../store/index.js';
import { type CliImage, cliFilesystem, warnRefused } from './cli-image.js';

/**
 * The image opened through its eStargz / zstd:chunked TOCs, or through its seek index
 * when one is published as its referrer (listings and single files then cost a few range
 * requests); `undefined` for other images.
 */
export async function openCliLazyImage(img: CliImage): Promise<LazyImage | undefined> {
  const options = await lazyOptions(img);
  return options && openLazyImage(img.image, options);
}

/**
 * The file at `path` of an image whose every layer has a TOC or a seek index, read from
 * the top layer down only as far as needed; `undefined` for other images.
 */
export async function openCliLazyFile(img: CliImage, path: string): Promise<Readable | undefined> {
  const options = await lazyOptions(img);
  return options && openLazyFile(img.image, path, options);
}

/** Where the lazy readers take ranges from; `undefined` for images that are not lazy here. */
async function lazyOptions(img: CliImage) {
  // The TOC readers take ranges from a registry or the store; local layouts and
  // archives are read whole (they are on disk already).
  if (img.image.location !== 'registry' && img.image.location !== 'store') return undefined;
  const store = img.image.location === 'store' ? img.store : undefined;
  const seekIndex = await cliSeekIndex(img);
  return { client: img.ctx.client, store, signal: img.ctx.signal, seekIndex };
}

/**
 * The seek index of a registry image whose layers have no TOCs of their own: one
 * referrers request, then its blobs, all kept in `STORE/.ocipeek/seek-index` (a second
 * run asks nothing). None with `--no-index`.
 */
async function cliSeekIndex(img: CliImage): Promise<ImageSeekIndex | undefined> {
  const { image, ctx } = img;
  if (ctx.options.index === false) return undefined;
  const cacheDir = join(
    defaultStorePath({ explicit: ctx.options.store }),
    '.ocipeek',
    'seek-index',
  );
  const found = await findUsableSeekIndex(image, {
    client: ctx.client,
    cacheDir,
    signal: ctx.signal,
    onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
  });
  if (found && ctx.options.verbose) {
    process.stderr.write(`source: seek index ${found.digest}\n`);
  }
  return found;
}

/**
 * The merged view and each layer's tar size from the seek index alone (`layers`): only
 * when the index covers every layer of the registry image, since TOC formats do not
 * record a layer's tar size; `undefined` otherwise (and with `--no-index`).
 */
export async function cliIndexedFilesystem(
  img: CliImage,
): Promise<{ fs: ImageFilesystem; tarSizes: number[] } | undefined> {
  const indexed = await cliIndexedImage(img);
  if (indexed === undefined) return undefined;
  warnRefused(indexed.lazy.fs);
  return { fs: indexed.lazy.fs, tarSizes: indexed.tarSizes };
}

/**
 * The registry image read through its seek index alone, when the index covers every
 * layer (`layers`, `diff`); `undefined` otherwise (and with `--no-index`).
 */
export async function cliIndexedImage(
  img: CliImage,
): Promise<{ lazy: LazyImage; tarSizes: number[] } | undefined> {
  const seekIndex = await cliSeekIndex(img);
  const tarSizes = seekIndexTarSizes(img.image, seekIndex);
  if (tarSizes === undefined) return undefined;
  const lazy = await openLazyImage(img.image, {
    client: img.ctx.client,
    signal: img.ctx.signal,
    seekIndex,
  });
  if (lazy === undefined) return undefined;
  return { lazy, tarSizes };
}

/**
 * The merged filesystem for commands that only look at entries (`ls`, `tree`, `stat`,
 * `find`): from the TOCs or seek index of a lazy image, else built from the layers (and
 * cached).
 */
export async function cliFilesystemView(img: CliImage): Promise<ImageFilesystem> {
  const lazy = await openCliLazyImage(img);
  if (lazy === undefined) return (await cliFilesystem(img, { efficiency: false })).fs;
  warnRefused(lazy.fs);
  return lazy.fs;
}
