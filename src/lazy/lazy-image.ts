import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors/index.js';
import { ImageFilesystem } from '../fs/index.js';
import { parseReference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import type { OpenedImage } from '../source/index.js';
import type { Store } from '../store/index.js';
import { type LazyLayer, lazyFormatOf, openLazyLayer } from './lazy-layer.js';
import { type BlobRangeSource, registryRangeSource, storeRangeSource } from './range-source.js';

/** Options for {@link openLazyImage}. */
export interface OpenLazyImageOptions {
  /** Reads registry images' layers (required for them). */
  client?: RegistryClient;
  /** Reads stored images' layers (required for them). */
  store?: Store;
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
 * Open `image` through its layers' TOCs when every layer announces a lazy format in its
 * descriptor annotations; `undefined` otherwise (no I/O is spent deciding that). This is the
 * hook the CLI's `ls` and `cat` use: the core never imports `src/lazy`.
 */
export async function openLazyImage(
  image: OpenedImage,
  options: OpenLazyImageOptions,
): Promise<LazyImage | undefined> {
  if (image.layers.length === 0) return undefined;
  if (!image.layers.every((l) => lazyFormatOf(l.descriptor))) return undefined;
  const sourceOf = (index: number): BlobRangeSource => {
    const d = image.layers[index]!.descriptor;
    const description = `layer ${index} (${d.digest})`;
    if (image.location === 'store') {
      if (!options.store) throw new InvalidArgumentError('a stored image needs the store');
      return storeRangeSource(options.store, d, { description });
    }
    if (!options.client) throw new InvalidArgumentError('a registry image needs a client');
    return registryRangeSource(options.client, parseReference(image.name), d, { description });
  };
  // Settle every layer before reporting a failure, so no request outlives the call.
  const opened = await Promise.allSettled(
    image.layers.map((l) =>
      openLazyLayer(sourceOf(l.index), l.descriptor, { probe: false, signal: options.signal }),
    ),
  );
  const failed = opened.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const layers = opened.map((r) => (r as PromiseFulfilledResult<LazyLayer | undefined>).value!);
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
      if (found.type === 'dir') throw new InvalidArgumentError(`${path}: is a directory`);
      if (found.type !== 'file') {
        throw new InvalidArgumentError(`${path}: not a regular file (${found.type})`);
      }
      const layer = layers[found.layer]!;
      const entry = layer.list()[found.headerOffset];
      if (!entry) throw new InvalidArgumentError(`${path}: no TOC entry behind it`);
      return layer.open(entry.path, { signal: o.signal ?? options.signal });
    },
  };
}
