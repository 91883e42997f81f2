import { LazyLayerError } from '../../errors/index.js';
import { layerCompression } from '../../media/index.js';
import type { OpenedImage } from '../../source/index.js';
import type { BlobRangeSource } from '../range-source.js';
import type { BuiltSeekIndex } from './build-seek-index.js';
import { writeCachedFile } from './cache-files.js';
import { type ImageSeekIndex, writeSeekIndexPointer } from './find-seek-index.js';
import { SpanRecords } from './span-records.js';
import { layersWantingSeekIndex } from './usable-seek-index.js';

/**
 * True when {@link buildSeekIndex} can index `image` and a reader gains by it: it has
 * layers that want an index ({@link layersWantingSeekIndex}), every one of them gzip.
 */
export function seekIndexable(image: OpenedImage): boolean {
  const plain = layersWantingSeekIndex(image);
  return (
    plain.length > 0 && plain.every((l) => layerCompression(l.descriptor.mediaType) === 'gzip')
  );
}

/**
 * A seek index built here rather than found in the registry, usable at once: its records
 * are read from memory. With `cacheDir` (the CLI: `STORE/.ocipeek/seek-index`) it is also
 * kept there exactly as {@link findSeekIndex} keeps a published one (the artifact manifest,
 * the tables and every record, each named by its digest, then the image's pointer to
 * them), so a later look at the image (the explorer again, `ls`, `cat`) finds it there
 * and asks the registry nothing but ranges of the layers. Nothing is pushed anywhere.
 */
export async function keepBuiltSeekIndex(
  built: BuiltSeekIndex,
  image: OpenedImage,
  cacheDir?: string,
): Promise<ImageSeekIndex> {
  const layers: ImageSeekIndex['layers'] = new Map();
  for (const blob of built.blobs) {
    const { index } = blob;
    const description = `layer ${index.layer.digest}, seek index records`;
    const records = new SpanRecords(
      index,
      new BufferRangeSource(description, blob.records.bytes),
      cacheDir,
    );
    layers.set(index.layer.digest, { index, digest: blob.descriptor.digest, records });
    await writeCachedFile(cacheDir, blob.descriptor.digest, blob.bytes);
    for (const cp of index.checkpoints) {
      const { offset, size, digest } = cp.record;
      await writeCachedFile(cacheDir, digest, blob.records.bytes.subarray(offset, offset + size));
    }
  }
  await writeCachedFile(cacheDir, built.digest, built.manifest);
  // Last: a reader that finds the pointer finds everything it points to.
  await writeSeekIndexPointer(cacheDir, image.manifestDigest, built.digest);
  return { digest: built.digest, layers };
}

/** Ranges of a blob held in memory (a records blob just built). */
class BufferRangeSource implements BlobRangeSource {
  bytesRead = 0;
  requests = 0;
  readonly rangeIgnored = false;
  readonly size: number;

  constructor(
    readonly description: string,
    private readonly bytes: Buffer,
  ) {
    this.size = bytes.length;
  }

  async read(start: number, end: number): Promise<Buffer> {
    if (!(start >= 0 && start <= end && end <= this.size)) {
      throw new LazyLayerError(
        this.description,
        'offset',
        `bytes ${start}..${end} lie outside the blob (${this.size} bytes)`,
      );
    }
    this.requests++;
    this.bytesRead += end - start;
    return this.bytes.subarray(start, end);
  }

  tail(length: number): Promise<Buffer> {
    return this.read(this.size - length, this.size);
  }
}
