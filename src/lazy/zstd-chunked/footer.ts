import {
  MANIFEST_TYPE_CRFS,
  SKIPPABLE_FRAME_MAGIC,
  ZSTD_CHUNKED_MAGIC,
  ZSTD_CHUNKED_MAGIC_OLD,
} from './constants.js';

/** Where a zstd:chunked layer keeps its TOC. */
export interface ZstdChunkedPosition {
  /** Compressed offset of the TOC's zstd frame (inside a skippable frame). */
  offset: number;
  /** Its compressed length. */
  length: number;
  /** Length of the TOC JSON once decompressed. */
  uncompressedLength: number;
  /** TOC type (1: CRFS-style JSON). */
  type: number;
}

/** Bytes to fetch from the end to see either footer layout (64-byte data + frame header). */
export const ZSTD_CHUNKED_TAIL = 72;

const FOOTER_SIZES = [64, 40] as const;

function u64(buf: Buffer, at: number): number | undefined {
  const v = buf.readBigUInt64LE(at);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

/**
 * The TOC position from a layer's last bytes. containers/storage ends a zstd:chunked layer
 * with a skippable frame whose data is little-endian u64s (TOC offset, compressed length,
 * uncompressed length, type; newer writers add three tar-split fields) then the magic:
 * 40 bytes of data ending `GnUlInUx` (the layout skopeo 1.9.3 writes) or 64 ending
 * `GNUlInUx` (containers/storage 1.45 and later). Either magic is accepted with either size.
 */
export function parseZstdChunkedFooter(tail: Buffer): ZstdChunkedPosition | undefined {
  if (tail.length < 48) return undefined;
  const magic = tail.subarray(tail.length - 8);
  if (!magic.equals(ZSTD_CHUNKED_MAGIC) && !magic.equals(ZSTD_CHUNKED_MAGIC_OLD)) return undefined;
  for (const size of FOOTER_SIZES) {
    const frameStart = tail.length - size - 8;
    if (frameStart < 0) continue;
    if (tail.readUInt32LE(frameStart) !== SKIPPABLE_FRAME_MAGIC) continue;
    if (tail.readUInt32LE(frameStart + 4) !== size) continue;
    const data = tail.subarray(frameStart + 8);
    const offset = u64(data, 0);
    const length = u64(data, 8);
    const uncompressedLength = u64(data, 16);
    const type = u64(data, 24);
    if (offset === undefined || length === undefined || uncompressedLength === undefined) {
      return undefined;
    }
    return { offset, length, uncompressedLength, type: type ?? -1 };
  }
  return undefined;
}

/** Parse the `offset:length:uncompressedLength:type` position annotation. */
export function parsePositionAnnotation(value: string): ZstdChunkedPosition | undefined {
  const parts = value.split(':');
  if (parts.length !== 4 || !parts.every((p) => /^\d+$/.test(p))) return undefined;
  const [offset, length, uncompressedLength, type] = parts.map(Number) as [
    number,
    number,
    number,
    number,
  ];
  if (![offset, length, uncompressedLength].every(Number.isSafeInteger)) return undefined;
  return { offset, length, uncompressedLength, type };
}

/** Where a zstd:chunked layer keeps its tar-split. */
export interface TarSplitPosition {
  offset: number;
  length: number;
  uncompressedLength: number;
}

/**
 * The footer containers/storage writes now: a skippable frame of 64 bytes of data, the TOC
 * position, the tar-split position, then `GNUlInUx`.
 */
export function zstdChunkedFooter64(
  position: ZstdChunkedPosition,
  tarSplit: TarSplitPosition,
): Buffer {
  const out = Buffer.alloc(72);
  out.writeUInt32LE(SKIPPABLE_FRAME_MAGIC, 0);
  out.writeUInt32LE(64, 4);
  const fields = [
    position.offset,
    position.length,
    position.uncompressedLength,
    position.type || MANIFEST_TYPE_CRFS,
    tarSplit.offset,
    tarSplit.length,
    tarSplit.uncompressedLength,
  ];
  for (const [i, v] of fields.entries()) out.writeBigUInt64LE(BigInt(v), 8 + 8 * i);
  ZSTD_CHUNKED_MAGIC.copy(out, 64);
  return out;
}

/** The 40-byte-data footer of c/storage before 1.45 (in its skippable frame) pointing at a TOC. */
export function zstdChunkedFooter(position: ZstdChunkedPosition): Buffer {
  const out = Buffer.alloc(48);
  out.writeUInt32LE(SKIPPABLE_FRAME_MAGIC, 0);
  out.writeUInt32LE(40, 4);
  out.writeBigUInt64LE(BigInt(position.offset), 8);
  out.writeBigUInt64LE(BigInt(position.length), 16);
  out.writeBigUInt64LE(BigInt(position.uncompressedLength), 24);
  out.writeBigUInt64LE(BigInt(position.type || MANIFEST_TYPE_CRFS), 32);
  ZSTD_CHUNKED_MAGIC_OLD.copy(out, 40);
  return out;
}
