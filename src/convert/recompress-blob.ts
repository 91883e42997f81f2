import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { decompressStream } from '../compression/index.js';
import { createDigester } from '../digest/index.js';

/** The compressions a layer can be rewritten in. */
export type LayerCompressionFormat = 'gzip' | 'zstd';

/** Options of {@link recompressBlob}. */
export interface RecompressOptions {
  /** Compression level (gzip 1–9, default 6; zstd 1–19, default 3). */
  level?: number;
  signal?: AbortSignal;
}

/** The blob {@link recompressBlob} wrote. */
export interface RecompressedBlob {
  digest: string;
  size: number;
  /** sha256 of the uncompressed bytes (a layer's diff_id). */
  diffId: string;
}

/**
 * Decompress `compressed` (gzip, zstd or plain, detected from its bytes) and write it to
 * `file` compressed as `to`; resolves to the new bytes' sha256 digest and size, and the
 * uncompressed bytes' digest (for a layer: its diff_id, unchanged by a recompression).
 */
export async function recompressBlob(
  compressed: Readable | AsyncIterable<Buffer>,
  mediaType: string,
  to: LayerCompressionFormat,
  file: string,
  options: RecompressOptions = {},
): Promise<RecompressedBlob> {
  const { signal } = options;
  const tar = await decompressStream(compressed, { mediaType, signal });
  const plain = createDigester('sha256');
  const hashPlain = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      plain.update(chunk);
      yield chunk;
    }
  };
  const hash = createDigester('sha256');
  let size = 0;
  const measure = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
  };
  const sink = createWriteStream(file);
  if (to === 'gzip') {
    await pipeline(tar, hashPlain, createGzip({ level: options.level ?? 6 }), measure, sink, {
      signal,
    });
  } else {
    const { zstdCompress } = await import('../native/libzstd-encoder.js');
    const compress = (source: AsyncIterable<Buffer>) => zstdCompress(source, options.level);
    await pipeline(tar, hashPlain, compress, measure, sink, { signal });
  }
  return {
    digest: `sha256:${hash.digest('hex')}`,
    size,
    diffId: `sha256:${plain.digest('hex')}`,
  };
}
