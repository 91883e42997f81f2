import { Readable } from 'node:stream';
import { decompressStream } from '../compression/index.js';
import { PathNotFoundError } from '../errors/index.js';
import type { ImageFilesystem } from '../fs/index.js';
import type { FsNode } from '../layer-rules/fs-node.js';
import { assertRegularFile, cleanPath, TopDownSearch } from '../layer-rules/index.js';
import type { ImageLayer, OpenedImage } from '../source/index.js';
import { readTar, type TarEntry, type TarRecord } from '../tar/index.js';
import type { LayerIndexCache } from './layer-index-cache.js';

/** Options for {@link openImageFile}. */
export interface OpenImageFileOptions {
  /** A merged view already built (e.g. from the index cache): only one layer is read then. */
  fs?: ImageFilesystem;
  /** Layer listings to use instead of reading a layer's headers, where it has them. */
  cache?: LayerIndexCache;
  signal?: AbortSignal;
}

/** Largest file kept in memory while its layer is read on (else read again, see below). */
const MAX_KEPT_FILE = 4 << 20;
/** Largest total of such files kept while searching. */
const MAX_KEPT_TOTAL = 16 << 20;

/**
 * Files a search keeps while it reads each layer to its end: a layer only decides a path
 * once all of its entries are applied (a later entry may replace the file or a parent), and
 * a tar cannot be rewound to a body already passed. Kept: regular files named like the
 * path looked for, or like a symlink or hardlink target met under one of those names.
 * Any other answer is read again from its layer, up to its entry.
 */
class KeptBodies {
  private readonly names = new Set<string>();
  private readonly bodies = new Map<string, Buffer>();
  private total = 0;

  constructor(path: string) {
    const last = cleanPath(path).segs.pop();
    if (last !== undefined) this.names.add(last);
  }

  /** Whether `record`'s body is worth keeping; notes link targets under wanted names. */
  wants(e: TarEntry): boolean {
    const name = baseName(e.path);
    if (!this.names.has(name)) return false;
    if ((e.type === 'symlink' || e.type === 'hardlink') && e.linkname) {
      const target = cleanPath(e.linkname).segs.pop();
      if (target !== undefined) this.names.add(target);
      return false;
    }
    return e.type === 'file' && e.size <= MAX_KEPT_FILE && this.total + e.size <= MAX_KEPT_TOTAL;
  }

  async keep(layer: number, record: TarRecord): Promise<void> {
    const parts: Buffer[] = [];
    for await (const part of record.readBody()) parts.push(Buffer.from(part));
    const body = Buffer.concat(parts);
    this.total += body.length;
    this.bodies.set(`${layer}:${record.entry.headerOffset}`, body);
  }

  take(node: FsNode): Buffer | undefined {
    return this.bodies.get(`${node.layer}:${node.headerOffset}`);
  }
}

function baseName(path: string): string {
  const p = path.endsWith('/') ? path.slice(0, -1) : path;
  return p.slice(p.lastIndexOf('/') + 1);
}

/** A layer's uncompressed tar stream. */
async function layerTar(layer: ImageLayer, signal: AbortSignal | undefined) {
  return decompressStream(await layer.open({ signal }), {
    mediaType: layer.descriptor.mediaType,
    signal,
  });
}

/** Every entry of a layer, keeping the bodies `kept` wants. */
async function readLayerEntries(
  layer: ImageLayer,
  kept: KeptBodies,
  signal: AbortSignal | undefined,
): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  for await (const record of readTar(await layerTar(layer, signal), { signal })) {
    entries.push(record.entry);
    if (kept.wants(record.entry)) await kept.keep(layer.index, record);
  }
  return entries;
}

/** A stream of one record's body that closes the layer once the body has been read. */
function bodyStream(iterator: AsyncGenerator<TarRecord>, record: TarRecord): Readable {
  async function* body() {
    try {
      yield* record.readBody();
    } finally {
      await iterator.return(undefined);
    }
  }
  return Readable.from(body(), { objectMode: false });
}

/** Stream the body of the entry at `headerOffset` of `layer`, reading only up to it. */
async function openEntryAt(
  layer: ImageLayer,
  headerOffset: number,
  path: string,
  signal: AbortSignal | undefined,
): Promise<Readable> {
  const iterator = readTar(await layerTar(layer, signal), { signal });
  // Iterated by hand: leaving a for-await loop would close the tar (and the body with it).
  for (let step = await iterator.next(); !step.done; step = await iterator.next()) {
    if (step.value.entry.headerOffset === headerOffset) return bodyStream(iterator, step.value);
  }
  throw new PathNotFoundError(path, `not found in layer ${layer.index} where the index put it`);
}

/**
 * Stream the content of the file at `path` in an image, following symlinks inside the
 * image root and reading hardlinks' targets, by the layer rules unpack uses.
 *
 * Without a prebuilt view, layers are read from the top down ({@link TopDownSearch}) and
 * the search stops at the first layer that decides the path: each layer read is applied
 * over what is still unknown below, and one more is read only while the answer depends
 * on it (a name the upper layers do not list, a parent that a lower symlink may redirect).
 * Each layer read is read to its end (its last entry may still change the answer); the
 * file's bytes come from memory when it was small and met on the way, else from one more
 * read of its layer, up to the file. Listings in `cache` stand in for reading a layer. With
 * `fs`, only the layer holding the file is read.
 */
export async function openImageFile(
  image: OpenedImage,
  path: string,
  options: OpenImageFileOptions = {},
): Promise<Readable> {
  const { signal } = options;
  if (options.fs) return openViaIndex(image, options.fs, path, signal);
  const asked = `/${cleanPath(path).segs.join('/')}`;
  const search = new TopDownSearch(image.layers.length);
  const kept = new KeptBodies(asked);
  for (;;) {
    const node = search.findFile(asked);
    if (node !== undefined) {
      const body = kept.take(node);
      if (body !== undefined) return Readable.from([body]);
      return openEntryAt(image.layers[node.layer]!, node.headerOffset, asked, signal);
    }
    // With every layer read, the base is empty and every lookup is decided.
    const layer = image.layers[search.nextLayer]!;
    const cached = await options.cache?.get(layer.descriptor.digest);
    search.addLayer(cached ? cached.entries : await readLayerEntries(layer, kept, signal));
  }
}

async function openViaIndex(
  image: OpenedImage,
  fs: ImageFilesystem,
  path: string,
  signal: AbortSignal | undefined,
): Promise<Readable> {
  const resolved = fs.stat(path, { follow: true });
  const entry = resolved.type === 'hardlink' ? fs.linkContent(resolved.path) : resolved;
  assertRegularFile(entry.type, path);
  return openEntryAt(image.layers[entry.layer]!, entry.headerOffset, path, signal);
}
