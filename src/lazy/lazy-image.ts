import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors/index.js';
import { ImageFilesystem } from '../fs/index.js';
import { assertRegularFile, cleanPath, TopDownSearch } from '../layer-rules/index.js';
import { parseReference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import type { OpenedImage } from '../source/index.js';
import type { Store } from '../store/index.js';
import { requiredOption } from '../util/required-option.js';
import { mapPool } from '../util/task-pool.js';
import { type LazyLayer, lazyFormatOf, openLazyLayer } from './lazy-layer.js';
import { type BlobRangeSource, registryRangeSource, storeRangeSource } from './range-source.js';
import type { ImageSeekIndex } from './seek-index/find-seek-index.js';

/** Options for {@link openLazyImage}. */
export interface OpenLazyImageOptions {
  /** Reads registry images' layers (required for them). */
  client?: RegistryClient;
  /** Reads stored images' layers (required for them). */
  store?: Store;
  /**
   * A seek index of the image ({@link findSeekIndex}): layers with no TOC of their own are
   * read through it. Without one, only images whose every layer has a TOC are lazy.
   */
  seekIndex?: ImageSeekIndex;
  signal?: AbortSignal;
}

/** An image every layer of which is lazily readable, opened through the layers' TOCs. */
export interface LazyImage {
  layers: LazyLayer[];
  /** The merged filesystem, built from the TOCs alone. */
  fs: ImageFilesystem;
  /** Bytes fetched for all layers so far (footers, TOCs, chunks). */
  bytesRead(): number;
  /** Stream the file at `path` (symlinks and hard links followed), fetching only its chunks. */
  openFile(path: string, options?: { signal?: AbortSignal }): Readable;
}

/**
 * TOCs fetched at once: an image of many layers would otherwise open a request (and hold
 * a TOC being parsed) per layer at the same time. As many as `peek` reads at once.
 */
const TOC_CONCURRENCY = 4;

/**
 * Whether every layer of `image` announces a lazy format or is covered by the seek index
 * (decided without any I/O).
 */
function isLazyImage(image: OpenedImage, seekIndex: ImageSeekIndex | undefined): boolean {
  return (
    image.layers.length > 0 &&
    image.layers.every(
      (l) => lazyFormatOf(l.descriptor) || seekIndex?.layers.has(l.descriptor.digest),
    )
  );
}

/** Where layer `index`'s bytes are read from, by range. */
function layerSource(
  image: OpenedImage,
  index: number,
  options: OpenLazyImageOptions,
): BlobRangeSource {
  const d = image.layers[index]!.descriptor;
  const description = `layer ${index} (${d.digest})`;
  if (image.location === 'store') {
    const store = requiredOption(options, 'store', `openLazyImage of stored ${image.name}`);
    return storeRangeSource(d, { store, description });
  }
  const client = requiredOption(options, 'client', `openLazyImage of ${image.name}`);
  return registryRangeSource(parseReference(image.name), d, { client, description });
}

/** Open layer `index` through its TOC (its descriptor announced the format) or the seek index. */
async function openTocLayer(
  image: OpenedImage,
  index: number,
  options: OpenLazyImageOptions,
): Promise<LazyLayer> {
  const source = layerSource(image, index, options);
  const descriptor = image.layers[index]!.descriptor;
  const indexed = lazyFormatOf(descriptor)
    ? undefined
    : options.seekIndex?.layers.get(descriptor.digest);
  if (indexed) {
    // pako is loaded only for images read through a seek index.
    const { IndexedLayer } = await import('./seek-index/indexed-layer.js');
    return new IndexedLayer(source, indexed.index, indexed.digest, indexed.records);
  }
  return (await openLazyLayer(source, descriptor, { probe: false, signal: options.signal }))!;
}

/**
 * Stream the file at `path` (symlinks and hardlinks followed) of an image whose every layer
 * is lazily readable, reading TOCs from the top layer down and stopping at the first layer
 * that decides the path ({@link TopDownSearch}): a file of the top layer costs its TOC and
 * its chunks. `undefined` for other images (decided from the annotations alone).
 */
export async function openLazyFile(
  image: OpenedImage,
  path: string,
  options: OpenLazyImageOptions,
): Promise<Readable | undefined> {
  if (!isLazyImage(image, options.seekIndex)) return undefined;
  const asked = `/${cleanPath(path).segs.join('/')}`;
  const search = new TopDownSearch(image.layers.length);
  const opened: LazyLayer[] = [];
  for (;;) {
    const node = search.findFile(asked);
    if (node !== undefined) {
      const layer = opened[node.layer]!;
      const entry = layer.list()[node.headerOffset];
      if (!entry) throw new InvalidArgumentError(`${asked}: no TOC entry behind it`);
      return layer.openEntry(entry, { signal: options.signal });
    }
    const index = search.nextLayer;
    opened[index] = await openTocLayer(image, index, options);
    search.addLayer(opened[index].list());
  }
}

/**
 * Open `image` through its layers' TOCs when every layer announces a lazy format in its
 * descriptor annotations or is covered by `options.seekIndex`; `undefined` otherwise (no
 * I/O is spent deciding that). This is the
 * hook the CLI's `ls` and `cat` use: the core never imports `src/lazy`.
 */
export async function openLazyImage(
  image: OpenedImage,
  options: OpenLazyImageOptions,
): Promise<LazyImage | undefined> {
  if (!isLazyImage(image, options.seekIndex)) return undefined;
  // A bounded pool: the first failure aborts the others and is thrown once every request
  // started has settled, so none outlives the call.
  const layers = await mapPool(
    image.layers,
    (l, signal) => openTocLayer(image, l.index, { ...options, signal }),
    { concurrency: TOC_CONCURRENCY, ...(options.signal ? { signal: options.signal } : {}) },
  );
  const fs = new ImageFilesystem();
  for (const [index, layer] of layers.entries()) {
    await fs.applyLayer(layer.list(), index, image.layers[index]!.descriptor.digest, {
      signal: options.signal,
    });
  }
  return {
    layers,
    fs,
    bytesRead: () => layers.reduce((n, l) => n + l.source.bytesRead, 0),
    openFile(path, o = {}) {
      const found = fs.stat(path);
      assertRegularFile(found.type, path);
      const layer = layers[found.layer]!;
      const entry = layer.list()[found.headerOffset];
      if (!entry) throw new InvalidArgumentError(`${path}: no TOC entry behind it`);
      return layer.openEntry(entry, { signal: o.signal ?? options.signal });
    },
  };
}
