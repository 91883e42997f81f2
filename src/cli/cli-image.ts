import { join } from 'node:path';
import type { Command } from 'commander';
import type { ImageFilesystem } from '../fs/index.js';
import { type BuiltFilesystem, buildFilesystem, LayerIndexCache } from '../image/index.js';
import { openPlaceImage } from '../places/index.js';
import { type OpenedImage, parsePlace } from '../source/index.js';
import { defaultStorePath, type Store } from '../store/index.js';
import { type CliContext, contextFor } from './context.js';
import { existingStore, sourcePolicy } from './image-source.js';
import { atExit } from './run-state.js';

// The filesystem commands' side of opening an image (layers read, listing cache, merged
// filesystem), apart from cli/image-source.ts so that the commands that read only
// manifests and configs (inspect, digest, ...) do not initialise the filesystem, tar,
// compression and listing-cache modules (bench/ANALYSIS.md, eleventh session, h15i).

/** An image opened for a filesystem command, with the store and listing cache around it. */
export interface CliImage {
  ctx: CliContext;
  image: OpenedImage;
  /** The store, when one exists (opened once per run). */
  store?: Store;
  cache: LayerIndexCache;
}

/**
 * Open the image `placeArg` names, any place form (`parsePlace`): a bare reference from
 * the store when the store holds it, else from its registry. The layers will be read, so
 * a stored tag that moved is pulled again into the store first (shared layers are kept).
 * Closed when the run ends.
 */
export async function openCliImage(cmd: Command, placeArg: string): Promise<CliImage> {
  const ctx = await contextFor(cmd);
  const place = parsePlace(placeArg);
  const store = await existingStore(ctx);
  const image = await openPlaceImage(place, {
    client: ctx.client,
    storeDir: ctx.options.store,
    store,
    platform: ctx.platform,
    signal: ctx.signal,
    ...sourcePolicy(ctx, true),
  });
  atExit(() => image.close());
  if (ctx.islet && image.source.kind !== 'registry') {
    await ctx.islet.verifySource(image.source, ctx.signal);
  }
  return { ctx, image, store, cache: listingCache(ctx) };
}

/** The listing cache of filesystem commands, in the store's folder. */
export function listingCache(ctx: CliContext): LayerIndexCache {
  return new LayerIndexCache(
    join(defaultStorePath({ explicit: ctx.options.store }), '.ocipeek', 'fs-index'),
  );
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
