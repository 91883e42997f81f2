import { join } from 'node:path';
import type { Command } from 'commander';
import { isOcipeekError } from '../errors/index.js';
import type { ImageFilesystem } from '../fs/index.js';
import {
  type BuiltFilesystem,
  buildFilesystem,
  LayerIndexCache,
  type OpenedImage,
  openImage,
} from '../image/index.js';
import { defaultStorePath, Store } from '../store/index.js';
import { type CliContext, contextFor } from './context.js';

/** An image opened for a filesystem command, with the store and listing cache around it. */
export interface CliImage {
  ctx: CliContext;
  image: OpenedImage;
  /** The store, when one exists (opened once per run). */
  store?: Store;
  cache: LayerIndexCache;
}

/** The store if one exists at the configured place (filesystem commands never create it). */
export async function existingStore(ctx: CliContext): Promise<Store | undefined> {
  try {
    return await Store.open(ctx.options.store, { create: false });
  } catch (err) {
    if (isOcipeekError(err, 'ERR_NOT_FOUND')) return undefined;
    throw err;
  }
}

/** Open `refArg` from the store when it is there, else from its registry. */
export async function openCliImage(cmd: Command, refArg: string): Promise<CliImage> {
  const ctx = await contextFor(cmd);
  const store = await existingStore(ctx);
  const image = await openImage(refArg, {
    client: ctx.client,
    store,
    platform: ctx.platform,
    signal: ctx.signal,
  });
  const cacheDir = join(defaultStorePath({ explicit: ctx.options.store }), '.ocipeek', 'fs-index');
  return { ctx, image, store, cache: new LayerIndexCache(cacheDir) };
}

/**
 * The merged filesystem of a CLI image, through the listing cache. Entries the layer
 * rules refused (unpack would fail on them) are named on stderr.
 */
export async function cliFilesystem(
  img: CliImage,
  options: { contentDigests?: boolean; efficiency?: boolean } = {},
): Promise<BuiltFilesystem> {
  const built = await buildFilesystem(img.image, {
    cache: img.cache,
    contentDigests: options.contentDigests,
    efficiency: options.efficiency,
    signal: img.ctx.signal,
  });
  warnRefused(built.fs);
  return built;
}

/** Name on stderr each entry the layer rules refused while building `fs`. */
export function warnRefused(fs: ImageFilesystem): void {
  for (const w of fs.warnings()) process.stderr.write(`warning: ${w}\n`);
}
