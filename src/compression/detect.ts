/** The compressions a layer can use. */
export type Compression = 'gzip' | 'zstd' | 'none';

/** How many leading bytes {@link detectCompression} needs to decide. */
export const MAGIC_LENGTH = 4;

/**
 * The compression of a stream, judged by its first bytes: gzip starts with `1f 8b`, a
 * zstd frame with `28 b5 2f fd`; anything else is taken as uncompressed. A zstd
 * skippable frame (`5? 2a 4d 18`, used by zstd:chunked for its table of contents only at
 * the end, but allowed first) also counts as zstd.
 */
export function detectCompression(firstBytes: Uint8Array): Compression {
  if (firstBytes.length >= 2 && firstBytes[0] === 0x1f && firstBytes[1] === 0x8b) return 'gzip';
  if (firstBytes.length >= 4) {
    const [b0, b1, b2, b3] = firstBytes as unknown as [number, number, number, number];
    if (b0 === 0x28 && b1 === 0xb5 && b2 === 0x2f && b3 === 0xfd) return 'zstd';
    if ((b0 & 0xf0) === 0x50 && b1 === 0x2a && b2 === 0x4d && b3 === 0x18) return 'zstd';
  }
  return 'none';
}

/**
 * The compression a layer media type declares, or `undefined` when the type says
 * nothing usable (then only the magic bytes decide).
 */
export function compressionOfMediaType(mediaType: string): Compression | undefined {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip')) return 'gzip';
  if (mediaType.endsWith('+zstd')) return 'zstd';
  if (mediaType.endsWith('.tar') || mediaType.endsWith('.diff.tar')) return 'none';
  return undefined;
}
