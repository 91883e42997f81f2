import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { decompressStream } from '../compression/index.js';
import { createDigester } from '../digest/index.js';
import { openTargetWriteStream } from '../store/target-write-stream.js';

/**
 * The compressions a layer can be rewritten in; `zstd:chunked` is zstd that
 * containers/storage can pull file by file (zstd-chunked/zstd-chunked-writer.ts).
 */
export type LayerCompressionFormat = 'gzip' | 'zstd' | 'zstd:chunked';

/** Options of {@link recompressBlob}. */
export interface RecompressOptions {
  /** Compression level (gzip 1–9, default 6; zstd and zstd:chunked 1–19, default 3). */
  level?: number;
  signal?: AbortSignal;
}

/** The blob {@link recompressBlob} wrote. */
export interface RecompressedBlob {
  digest: string;
  size: number;
  /** sha256 of the uncompressed bytes (a layer's diff_id). */
  diffId: string;
  /** Descriptor annotations the new bytes need (zstd:chunked's TOC position and checksum). */
  annotations?: Record<string, string>;
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
  if (to === 'zstd:chunked') return writeChunked(tar, file, options);
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
  const sink = await openSink(file, tar);
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

async function writeChunked(
  tar: Readable,
  file: string,
  options: RecompressOptions,
): Promise<RecompressedBlob> {
  const { writeZstdChunkedLayer } = await import('./zstd-chunked/zstd-chunked-writer.js');
  const sink = await openSink(file, tar);
  try {
    const result = await writeZstdChunkedLayer(tar, sink, options);
    sink.end();
    await finished(sink);
    const { digest, size, diffId, annotations } = result;
    return { digest, size, diffId, annotations };
  } catch (err) {
    sink.destroy();
    tar.destroy();
    throw err;
  }
}

/**
 * The new blob's file, written as every blob is (store/target-write-stream.ts: the file's
 * folder decides the calls); `tar` is destroyed when the file cannot be made.
 */
async function openSink(file: string, tar: Readable) {
  try {
    return await openTargetWriteStream(file);
  } catch (err) {
    tar.destroy();
    throw err;
  }
}
