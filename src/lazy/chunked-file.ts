import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { parseDigest } from '../digest/index.js';
import { LazyLayerError } from '../errors/index.js';
import { inflatePrefix, type MemberCompression } from './inflate-prefix.js';
import type { LazyEntry } from './lazy-entry.js';
import type { BlobRangeSource } from './range-source.js';

/** Options for {@link openChunkedFile}. */
export interface OpenChunkedFileOptions {
  signal?: AbortSignal;
}

function hashOf(digest: string) {
  const { algorithm, hex } = parseDigest(digest);
  return { hash: createHash(algorithm), hex, algorithm };
}

/** Fetch one chunk's member, decompress it and check the chunk digest when there is one. */
async function fetchChunk(
  source: BlobRangeSource,
  entry: LazyEntry,
  index: number,
  compression: MemberCompression,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  const chunk = entry.chunks[index]!;
  const compressed = await source.read(chunk.offset, chunk.end, { signal });
  let data: Buffer;
  try {
    data = await inflatePrefix(compressed, compression, chunk.innerOffset + chunk.chunkSize, {
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new LazyLayerError(
      source.description,
      'offset',
      `chunk ${index} of ${entry.path} at offset ${chunk.offset} does not decompress: ${(err as Error).message}`,
      { cause: err },
    );
  }
  data = data.subarray(chunk.innerOffset);
  if (chunk.digest) {
    const { hash, hex, algorithm } = hashOf(chunk.digest);
    const actual = hash.update(data).digest('hex');
    if (actual !== hex) {
      throw new LazyLayerError(
        source.description,
        'chunk-digest',
        `chunk ${index} of ${entry.path} (offset ${chunk.offset}): digest ${algorithm}:${actual} does not match the TOC's ${chunk.digest}`,
      );
    }
  }
  return data;
}

/**
 * Stream the content of a regular file of a lazy layer, fetching only its chunks, one range
 * request each, as the consumer reads. Every chunk is checked against its `chunkDigest`
 * before it is passed on; chunks the TOC gives no digest for are held back until the
 * whole file's `digest` has been checked, so a consumer never sees unverified bytes.
 */
export function openChunkedFile(
  source: BlobRangeSource,
  entry: LazyEntry,
  compression: MemberCompression,
  options: OpenChunkedFileOptions = {},
): Readable {
  if (entry.size > 0 && !entry.digest && entry.chunks.some((c) => !c.digest)) {
    throw new LazyLayerError(
      source.description,
      'toc',
      `${entry.path} has neither chunk digests nor a file digest: its bytes cannot be verified`,
    );
  }
  async function* generate(): AsyncGenerator<Buffer> {
    const whole = entry.digest ? hashOf(entry.digest) : undefined;
    const held: Buffer[] = [];
    let position = 0;
    for (let i = 0; i < entry.chunks.length; i++) {
      const chunk = entry.chunks[i]!;
      if (chunk.chunkOffset !== position) {
        throw new LazyLayerError(
          source.description,
          'toc',
          `${entry.path}: chunk ${i} starts at ${chunk.chunkOffset}, expected ${position}`,
        );
      }
      const data = await fetchChunk(source, entry, i, compression, options.signal);
      position += data.length;
      whole?.hash.update(data);
      const last = i === entry.chunks.length - 1;
      // A chunk with its own digest goes out at once; others wait for the file digest, and
      // so does the last one, so that a file whose digest fails ends in an error.
      if (chunk.digest && held.length === 0 && !(last && whole)) yield data;
      else held.push(data);
    }
    if (position !== entry.size) {
      throw new LazyLayerError(
        source.description,
        'toc',
        `${entry.path}: chunks hold ${position} bytes, the TOC says ${entry.size}`,
      );
    }
    if (whole) {
      const actual = whole.hash.digest('hex');
      if (actual !== whole.hex) {
        throw new LazyLayerError(
          source.description,
          'file-digest',
          `${entry.path}: content digest ${whole.algorithm}:${actual} does not match the TOC's ${entry.digest}`,
        );
      }
    }
    yield* held;
  }
  return Readable.from(generate(), { objectMode: false });
}

/** Read a whole file of a lazy layer into memory (small files; see {@link openChunkedFile}). */
export async function readChunkedFile(
  source: BlobRangeSource,
  entry: LazyEntry,
  compression: MemberCompression,
  options: OpenChunkedFileOptions = {},
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of openChunkedFile(source, entry, compression, options)) parts.push(part);
  return Buffer.concat(parts);
}
