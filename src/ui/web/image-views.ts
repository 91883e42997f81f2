import type { Readable } from 'node:stream';
import type { FsEntry, ImageFilesystem } from '../../fs/index.js';
import {
  buildFilesystem,
  type DiffSide,
  type LayerIndexCache,
  openImageFile,
} from '../../image/index.js';
import { assertRegularFile } from '../../layer-rules/index.js';
import {
  buildSeekIndex,
  type ImageSeekIndex,
  type LazyImage,
  openLazyImage,
} from '../../lazy/index.js';
import { keepBuiltSeekIndex, seekIndexable } from '../../lazy/seek-index/local-seek-index.js';
import { findUsableSeekIndex, seekIndexTarSizes } from '../../lazy/seek-index/usable-seek-index.js';
import type { Platform } from '../../media/index.js';
import { openPlaceImage } from '../../places/index.js';
import type { RegistryClient } from '../../registry/index.js';
import type { OpenedImage } from '../../source/index.js';
import type { Store } from '../../store/index.js';
import { viewDiffSide } from './diff-side.js';

/** What the explorer reads images through. */
export interface ImageViewsOptions {
  /** Reads registries; its `stats` are the bytes-fetched counter the pages show. */
  client: RegistryClient;
  /** The store: an image it holds is read from it (a tag checked with one HEAD). */
  store?: Store;
  /** Cached layer listings (inside the store: the explorer writes nowhere else). */
  cache?: LayerIndexCache;
  platform?: Platform;
  /**
   * Where seek indexes found as referrers are kept (the CLI: `STORE/.ocipeek/seek-index`).
   * A registry image of plain gzip layers is looked up once for one
   * ({@link findUsableSeekIndex}); with one, its tree and files cost index and range reads.
   */
  seekIndexCache?: string;
  /** Do not look for seek indexes, nor build them (the CLI's `--no-index`). */
  noSeekIndex?: boolean;
  /**
   * Build the seek index of a registry image of plain gzip layers that has none (the CLI
   * does): its layers are streamed once to list them anyway, and the index is built from
   * that same stream ({@link buildSeekIndex}), kept in `seekIndexCache` (when given) as a
   * published one is, so folders and files are then read by range, now and on later
   * looks. Without it such an image is listed from its layers, and a file read from its
   * layer's start.
   */
  buildSeekIndex?: boolean;
  /** Told why a seek index was not used. */
  onWarning?: (message: string) => void;
}

/** An image's merged filesystem, and how it was obtained. */
export interface FilesystemView {
  fs: ImageFilesystem;
  /**
   * The TOC reader of an eStargz / zstd:chunked image, or of one read through its seek
   * index (files then cost their chunks or spans).
   */
  lazy?: LazyImage;
  /** Uncompressed layer sizes: when the layers were read whole, or a seek index covers them all. */
  tarSizes?: number[];
}

/**
 * The images the explorer has opened, by reference, each opened once and its filesystem
 * built once (on first need: an overview needs none). A lazy image's tree comes from its
 * TOCs alone, a registry image with a seek index from that index (as `ls` reads them);
 * others from their layers, through the listing cache. A failed open is
 * forgotten, so asking again retries.
 */
export class ImageViews {
  private readonly images = new Map<string, Promise<OpenedImage>>();
  private readonly views = new Map<string, Promise<FilesystemView>>();

  constructor(private readonly options: ImageViewsOptions) {}

  /** The image `ref` names (one platform), opened once. */
  image(ref: string): Promise<OpenedImage> {
    return remembered(this.images, ref, () =>
      openPlaceImage(ref, {
        client: this.options.client,
        store: this.options.store,
        platform: this.options.platform,
        policy: this.options.store ? 'newer' : undefined,
      }),
    );
  }

  /** The merged filesystem of `ref`, built once. */
  view(ref: string): Promise<FilesystemView> {
    return remembered(this.views, ref, async () => {
      const image = await this.image(ref);
      const seekIndex = await this.seekIndex(image);
      const lazy = await openLazyImage(image, { ...this.lazyOptions(image), seekIndex });
      if (lazy) return { fs: lazy.fs, lazy, tarSizes: seekIndexTarSizes(image, seekIndex) };
      const built = await buildFilesystem(image, { cache: this.options.cache });
      return { fs: built.fs, tarSizes: built.tarSizes };
    });
  }

  /**
   * The regular file `path` names (symlinks and hardlinks followed), or an error saying
   * what it is instead.
   */
  async fileEntry(ref: string, path: string): Promise<FsEntry> {
    const { fs } = await this.view(ref);
    const entry = fs.stat(path);
    const content = entry.type === 'hardlink' ? fs.linkContent(entry.path) : entry;
    assertRegularFile(content.type, path);
    return content;
  }

  /**
   * Stream the file at `path` (links followed): a lazy image's chunks, else the layer that
   * holds it, read until the file's last byte and no further.
   */
  async openFile(ref: string, path: string, signal?: AbortSignal): Promise<Readable> {
    const image = await this.image(ref);
    const { fs, lazy } = await this.view(ref);
    if (lazy) return lazy.openFile(path, { signal });
    return openImageFile(image, path, { fs, cache: this.options.cache, signal });
  }

  /** `ref` as one side of a diff: what its files' contents cost to compare ({@link viewDiffSide}). */
  async diffSide(ref: string): Promise<DiffSide> {
    const [image, view] = await Promise.all([this.image(ref), this.view(ref)]);
    return viewDiffSide(image, view, this.options.cache);
  }

  /** Close every image opened. */
  async close(): Promise<void> {
    const opened = await Promise.allSettled(this.images.values());
    this.images.clear();
    this.views.clear();
    for (const o of opened) if (o.status === 'fulfilled') await o.value.close();
  }

  /**
   * The seek index of a registry image whose layers have no TOCs, as `ls` finds it (one
   * referrers request, then cached); one that cannot be had leaves the image readable
   * the ordinary way. With `buildSeekIndex`, an image of gzip layers that has none gets
   * one built as its layers stream.
   */
  private async seekIndex(image: OpenedImage): Promise<ImageSeekIndex | undefined> {
    const { client, seekIndexCache, noSeekIndex, onWarning } = this.options;
    if (noSeekIndex) return undefined;
    const found = await findUsableSeekIndex(image, {
      client,
      cacheDir: seekIndexCache,
      onWarning,
    });
    if (found || !this.options.buildSeekIndex || !seekIndexable(image)) return found;
    return keepBuiltSeekIndex(await buildSeekIndex(image), image, seekIndexCache);
  }

  private lazyOptions(image: OpenedImage) {
    // TOCs are read by range from registries and the store; other places are read whole.
    const store = image.location === 'store' ? this.options.store : undefined;
    return { client: this.options.client, store };
  }
}

/** `make()`'s promise kept under `key`; dropped again if it fails. */
function remembered<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>) {
  let p = map.get(key);
  if (p === undefined) {
    p = make();
    map.set(key, p);
    p.catch(() => map.delete(key));
  }
  return p;
}
