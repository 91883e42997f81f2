import { createGunzip } from 'node:zlib';
import { createZstdDecompressor } from '../compression/index.js';

/** How the members of a lazy layer are compressed. */
export type MemberCompression = 'gzip' | 'zstd';

/** Options for {@link inflatePrefix}. */
export interface InflatePrefixOptions {
  signal?: AbortSignal;
}

/**
 * The first `length` decompressed bytes of `compressed` (one or more whole gzip members or
 * zstd frames). Decompression stops as soon as they are there; fewer bytes than asked is
 * an error, never a short result.
 */
export async function inflatePrefix(
  compressed: Buffer,
  compression: MemberCompression,
  length: number,
  options: InflatePrefixOptions = {},
): Promise<Buffer> {
  if (length === 0) return Buffer.alloc(0);
  const inflater = compression === 'gzip' ? createGunzip() : createZstdDecompressor();
  const onAbort = () => inflater.destroy(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const parts: Buffer[] = [];
  let have = 0;
  try {
    inflater.end(compressed);
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      parts.push(chunk);
      have += chunk.length;
      if (have >= length) break;
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    inflater.destroy();
  }
  if (have < length) {
    throw new Error(`decompressed to ${have} bytes, expected at least ${length}`);
  }
  return Buffer.concat(parts, have).subarray(0, length);
}
