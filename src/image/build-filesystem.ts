import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { decompressIntoRooms, OutputRooms } from '../compression/index.js';
import type { FsEntry } from '../fs/index.js';
import { ImageFilesystem, type LayerStats } from '../fs/index.js';
import type { ImageLayer, OpenedImage } from '../source/index.js';
import { readTar, scanTarEntries, type TarEntry } from '../tar/index.js';
import { TaskPool } from '../util/task-pool.js';
import { EntryFeed } from './entry-feed.js';
import { type LayerIndexCache, type LayerListing, readCachedListing } from './layer-index-cache.js';
import { ListingEncoder } from './listing-codec.js';

/** Options for {@link buildFilesystem}. */
export interface BuildFilesystemOptions {
  /** Reuse and fill per-layer listings. */
  cache?: LayerIndexCache;
  /** Layers fetched and scanned at once (default 3); the first failure stops the others. */
  concurrency?: number;
  /** Refuse layers that inflate beyond this (decompression bombs); default 64 GiB. */
  maxLayerBytes?: number;
  /** Also hash every regular file's content (for `diff`); costs a full read of bodies. */
  contentDigests?: boolean;
  /** Track dive's efficiency figures (`fs.efficiency()`); default true. */
  efficiency?: boolean;
  signal?: AbortSignal;
}

/** The merged view of an image and how it was obtained. */
export interface BuiltFilesystem {
  fs: ImageFilesystem;
  layers: LayerStats[];
  /** Uncompressed tar size of each layer. */
  tarSizes: number[];
  /** Layers whose listing came from the cache (no bytes read). */
  cachedLayers: number;
  /** sha256 of a regular file's content, when built with `contentDigests`. */
  contentDigest(entry: FsEntry): string | undefined;
}

/**
 * Counts the bytes of the uncompressed tar as they pass, without copying them, and calls
 * `afterChunk` once the consumer is done with a chunk (when it asks for the next one). A
 * generator rather than a Transform piped in between: one stream stage less per chunk.
 */
async function* counted(
  source: AsyncIterable<Buffer>,
  total: { bytes: number },
  afterChunk?: (chunk: Buffer) => void,
) {
  for await (const chunk of source) {
    total.bytes += chunk.length;
    yield chunk;
    afterChunk?.(chunk);
  }
}

/** Options of {@link scanLayer}. */
export interface ScanLayerOptions {
  signal?: AbortSignal;
  maxLayerBytes?: number;
  contentDigests?: boolean;
}

/**
 * A layer's uncompressed tar stream, its compressed bytes verified as they pass. With
 * `rooms`, zstd output comes in rooms the reader gives back (see decompressIntoRooms).
 */
export async function openLayerTar(
  layer: ImageLayer,
  options: ScanLayerOptions,
  rooms?: OutputRooms,
): Promise<Readable> {
  const source = await layer.open({ signal: options.signal });
  const decompress = {
    mediaType: layer.descriptor.mediaType,
    maxOutputBytes: options.maxLayerBytes ?? 64 * 1024 ** 3,
    what: `layer ${layer.index} (${layer.descriptor.digest})`,
    signal: options.signal,
  };
  return decompressIntoRooms(source, decompress, rooms);
}

/**
 * Every tar entry of one layer, streamed once: the compressed bytes are verified as they
 * pass, decompressed, and only headers are kept; contents are skipped (or hashed when
 * `contentDigests` is asked), nothing is written.
 */
export async function scanLayer(
  layer: ImageLayer,
  options: ScanLayerOptions = {},
): Promise<LayerListing> {
  const counter = { bytes: 0 };
  const entries: TarEntry[] = [];
  if (!options.contentDigests) {
    // Headers are parsed into new strings, so a chunk is dead once the scanner moves on.
    const rooms = new OutputRooms();
    const tar = await openLayerTar(layer, options, rooms);
    const done = (chunk: Buffer) => rooms.giveBack(chunk);
    await scanTarEntries(counted(tar, counter, done), (e) => entries.push(e), {
      signal: options.signal,
    });
    return { entries, tarSize: counter.bytes };
  }
  const tar = await openLayerTar(layer, options);
  const digests: Array<string | null> = [];
  for await (const record of readTar(counted(tar, counter), { signal: options.signal })) {
    entries.push(record.entry);
    if (record.entry.type !== 'file') {
      digests.push(null);
      continue;
    }
    const hash = createHash('sha256');
    for await (const chunk of record.readBody()) hash.update(chunk);
    digests.push(`sha256:${hash.digest('hex')}`);
  }
  return { entries, tarSize: counter.bytes, contentDigests: digests };
}

/**
 * {@link scanLayer} without keeping the entries: each goes to `feed` after its chunk (and
 * to `encoder`, for the listing cache) and is let go. Returns the tar's size.
 */
async function feedLayer(
  layer: ImageLayer,
  feed: EntryFeed,
  encoder: ListingEncoder | undefined,
  options: ScanLayerOptions,
): Promise<number> {
  const counter = { bytes: 0 };
  // Headers are parsed into new strings, so a chunk is dead once the scanner moves on.
  const rooms = new OutputRooms();
  const tar = await openLayerTar(layer, options, rooms);
  const sink = encoder
    ? (e: TarEntry) => {
        feed.push(e);
        encoder.add(e);
      }
    : feed.push;
  await scanTarEntries(
    counted(tar, counter, (chunk) => {
      feed.flush();
      rooms.giveBack(chunk);
    }),
    sink,
    {
      signal: options.signal,
    },
  );
  return counter.bytes;
}

/**
 * Build the merged filesystem of an image: layers are listed concurrently (from the cache
 * when it has them) and applied bottom to top as soon as each one and all below are ready.
 */
export async function buildFilesystem(
  image: OpenedImage,
  options: BuildFilesystemOptions = {},
): Promise<BuiltFilesystem> {
  const fs = new ImageFilesystem({ efficiency: options.efficiency });
  const layers = image.layers;
  // A scanned layer's size, and its entries unless they went through a feed.
  type Listed = { tarSize: number; entries?: TarEntry[]; contentDigests?: Array<string | null> };
  const listings: Array<Promise<Listed>> = new Array(layers.length);
  // Without content digests, entries reach the tree while their layer still downloads.
  const feeds: Array<EntryFeed | undefined> = new Array(layers.length);
  let cachedLayers = 0;
  const cacheWrites: Array<Promise<void>> = [];
  const listLayer = async (
    layer: ImageLayer,
    feed: EntryFeed | undefined,
    signal: AbortSignal,
  ): Promise<Listed> => {
    const digest = layer.descriptor.digest;
    if (feed) {
      const cached = options.cache && (await readCachedListing(options.cache, digest));
      if (cached) {
        cachedLayers++;
        feed.fillFrom(cached.entries);
        return { tarSize: cached.tarSize };
      }
    } else {
      const cached = await options.cache?.get(digest, { contentDigests: options.contentDigests });
      if (cached) {
        cachedLayers++;
        return cached;
      }
    }
    const scanOptions = { ...options, signal };
    // Cache files are written while the tree is built; awaited before returning.
    if (feed) {
      const encoder = options.cache ? new ListingEncoder() : undefined;
      const tarSize = await feedLayer(layer, feed, encoder, scanOptions);
      if (options.cache && encoder) {
        cacheWrites.push(options.cache.putEncoded(digest, encoder.finish(), tarSize));
      }
      return { tarSize };
    }
    const listing = await scanLayer(layer, scanOptions);
    if (options.cache) cacheWrites.push(options.cache.put(digest, listing));
    return listing;
  };
  // Layers are listed in order, a few at a time; the first failure (a download, or
  // applying a layer below) aborts the others.
  const pool = new TaskPool({ concurrency: options.concurrency ?? 3, signal: options.signal });
  for (const layer of layers) {
    const feed = options.contentDigests ? undefined : new EntryFeed();
    feeds[layer.index] = feed;
    const listing = pool.run((signal) => listLayer(layer, feed, signal));
    listing.then(
      () => feed?.end(),
      (err: unknown) => feed?.end(err),
    );
    listings[layer.index] = listing;
  }
  const stats: LayerStats[] = [];
  const tarSizes: number[] = [];
  const digests = new Map<string, string>();
  const applyOptions = { signal: pool.signal };
  try {
    for (const layer of layers) {
      const feed = feeds[layer.index];
      const digest = layer.descriptor.digest;
      if (feed) {
        stats.push(await fs.applyLayerBatches(feed.batches(), layer.index, digest, applyOptions));
        tarSizes.push((await listings[layer.index]!).tarSize);
        continue;
      }
      const listing = await listings[layer.index]!;
      stats.push(await fs.applyLayer(listing.entries ?? [], layer.index, digest, applyOptions));
      tarSizes.push(listing.tarSize);
      listing.contentDigests?.forEach((d, i) => {
        if (d) digests.set(`${layer.index}:${listing.entries![i]!.headerOffset}`, d);
      });
    }
  } catch (err) {
    pool.fail(err);
    // The other downloads stop; nothing of them outlives this call.
    await pool.drain().catch(() => {});
    await Promise.all(cacheWrites);
    throw err;
  }
  await pool.drain();
  await Promise.all(cacheWrites);
  return {
    fs,
    layers: stats,
    tarSizes,
    cachedLayers,
    contentDigest: (e) => digests.get(`${e.layer}:${e.headerOffset}`),
  };
}
