import { createHash, type Hash } from 'node:crypto';
import { WINDOW_SIZE } from '../seek-index/raw-inflate.js';

/*
 * SOCI's gzip "zinfo": the checkpoints a zTOC carries in CompressionInfo.checkpoints, laid
 * out as soci-snapshotter's C code (ztoc/compression/gzip_zinfo.c, `zinfo_to_blob` and
 * `blob_to_zinfo`, version 2) reads them, little-endian:
 *
 *   int32   number of checkpoints
 *   int64   span size
 *   then per checkpoint (PACKED_CHECKPOINT_SIZE = 8 + 8 + 1 + 32768 bytes):
 *     int64  in:   offset in the blob of the first full byte of the block
 *     int64  out:  uncompressed offset there
 *     uint8  bits: bits of the byte at in - 1 that belong to the block (0-7)
 *     32768  the window: the 32 KiB of output before `out`, zeros in front when fewer
 *
 * A reader tells version 2 from version 1 by the size (version 1 left the first
 * checkpoint out), so the size must be exactly 12 + count * 32785.
 *
 * Where checkpoints go is soci's rule (`generate_zinfo_from_fp`, zran.c's): the first
 * block boundary (after the gzip header), then the first boundary whose output is more
 * than `span` past the last checkpoint's, never after the last block. One addition, for
 * layers of several gzip members: a checkpoint at each member's first block too (with a
 * zero window: a new stream refers to nothing before it), so no span crosses a member.
 * soci's reader takes any block boundary as a checkpoint (it inflates raw from there and
 * steps over member trailers itself), so this changes nothing for it; for a
 * single-member layer, which is nearly every layer, the checkpoints are soci's own.
 *
 * Each span's digest (CompressionInfo.span_digests) is the sha256 of its compressed bytes,
 * from `in` (one byte earlier when `bits` is set) to the next checkpoint's `in`, the last
 * to the end of the blob: soci-snapshotter fetches a span by that range and checks it
 * before it inflates it.
 */

/** The bytes of one packed checkpoint. */
export const PACKED_CHECKPOINT_SIZE = 8 + 8 + 1 + WINDOW_SIZE;
/** The bytes before the first checkpoint: count and span size. */
export const ZINFO_HEADER_SIZE = 4 + 8;

/** One checkpoint as the zinfo stores it. */
export interface ZinfoCheckpoint {
  /** Offset of the first full byte of the block in the compressed blob. */
  in: number;
  /** Uncompressed offset at the block's start. */
  out: number;
  /** Bits of the byte at `in - 1` that are the block's first bits (0-7). */
  bits: number;
  /** Exactly 32 KiB: the output before `out`, zero-filled in front. */
  window: Uint8Array;
}

/** A decoded zinfo blob. */
export interface GzipZinfo {
  spanSize: number;
  checkpoints: ZinfoCheckpoint[];
}

/** The zinfo blob soci's `zinfo_to_blob` writes for these checkpoints. */
export function encodeGzipZinfo(zinfo: GzipZinfo): Buffer {
  const n = zinfo.checkpoints.length;
  const blob = Buffer.alloc(ZINFO_HEADER_SIZE + n * PACKED_CHECKPOINT_SIZE);
  blob.writeInt32LE(n, 0);
  blob.writeBigInt64LE(BigInt(zinfo.spanSize), 4);
  let at = ZINFO_HEADER_SIZE;
  for (const cp of zinfo.checkpoints) {
    if (cp.window.length !== WINDOW_SIZE) throw new RangeError('a zinfo window is 32 KiB');
    blob.writeBigInt64LE(BigInt(cp.in), at);
    blob.writeBigInt64LE(BigInt(cp.out), at + 8);
    blob.writeUInt8(cp.bits, at + 16);
    blob.set(cp.window, at + 17);
    at += PACKED_CHECKPOINT_SIZE;
  }
  return blob;
}

/**
 * Read a zinfo blob as soci's `blob_to_zinfo` does, version 2 only (what soci has written
 * since it has had multi-member support, and what this project writes). Throws a
 * RangeError naming what is wrong.
 */
export function decodeGzipZinfo(blob: Uint8Array): GzipZinfo {
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.length);
  if (b.length < ZINFO_HEADER_SIZE) throw new RangeError('zinfo: shorter than its header');
  const n = b.readInt32LE(0);
  if (n < 1 || ZINFO_HEADER_SIZE + n * PACKED_CHECKPOINT_SIZE !== b.length) {
    throw new RangeError(`zinfo: ${n} checkpoints do not make ${b.length} bytes (version 2)`);
  }
  const spanSize = Number(b.readBigInt64LE(4));
  const checkpoints: ZinfoCheckpoint[] = [];
  for (let i = 0, at = ZINFO_HEADER_SIZE; i < n; i++, at += PACKED_CHECKPOINT_SIZE) {
    checkpoints.push({
      in: Number(b.readBigInt64LE(at)),
      out: Number(b.readBigInt64LE(at + 8)),
      bits: b.readUInt8(at + 16),
      window: b.subarray(at + 17, at + 17 + WINDOW_SIZE),
    });
  }
  return { spanSize, checkpoints };
}

/** Where span `i` starts in the compressed blob (soci's `StartCompressedOffset`). */
export function spanStart(cp: ZinfoCheckpoint): number {
  return cp.bits ? cp.in - 1 : cp.in;
}

/**
 * Collects soci's checkpoints and span digests while the seek-index builder streams a
 * layer once: {@link ZinfoCollector.observe} is given every deflate block boundary,
 * {@link ZinfoCollector.tee} sees the compressed bytes on their way in. Compressed bytes
 * are hashed into the current span's digest as soon as no later span can start before
 * them, so only about a block of them is held.
 */
export class ZinfoCollector {
  readonly checkpoints: ZinfoCheckpoint[] = [];
  readonly spanDigests: string[] = [];
  private hash: Hash | undefined;
  /** Compressed bytes seen and not yet hashed, from `heldFrom` on. */
  private held: Buffer[] = [];
  private heldFrom = 0;
  private seen = 0;
  private lastOut = 0;

  constructor(readonly span: number) {}

  /** The compressed stream, passed through unchanged, its bytes kept for the digests. */
  async *tee(compressed: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of compressed) {
      this.held.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.seen += chunk.length;
      yield chunk;
    }
  }

  /**
   * A block boundary at compressed bit `bit` with `out` bytes of output before it;
   * `memberStart` when it is the first block of a gzip member after the first.
   */
  observe(at: { bit: number; out: number; memberStart: boolean }, window: () => Uint8Array): void {
    const first = this.checkpoints.length === 0;
    const take = first || at.memberStart || at.out - this.lastOut > this.span;
    const inByte = Math.ceil(at.bit / 8);
    const bits = (8 - (at.bit % 8)) % 8;
    if (!take) {
      // A later span starts at the earliest a byte before this boundary's first full byte.
      if (this.hash) this.hashTo(inByte - 1);
      return;
    }
    const start = bits ? inByte - 1 : inByte;
    if (this.hash) {
      // The byte at in - 1 ends the last span and starts this one when `bits` is set.
      this.hashTo(start);
      this.hash.update(this.peek(start, inByte));
      this.spanDigests.push(`sha256:${this.hash.digest('hex')}`);
    } else {
      this.release(start);
    }
    this.hash = createHash('sha256');
    const w = at.memberStart ? new Uint8Array(0) : window();
    const padded = new Uint8Array(WINDOW_SIZE);
    padded.set(
      w.subarray(Math.max(0, w.length - WINDOW_SIZE)),
      WINDOW_SIZE - Math.min(w.length, WINDOW_SIZE),
    );
    this.checkpoints.push({ in: inByte, out: at.out, bits, window: padded });
    this.lastOut = at.out;
  }

  /** The stream has ended (every byte seen): the last span runs to the blob's end. */
  finish(): void {
    if (!this.hash) throw new RangeError('zinfo: no deflate block boundary was seen');
    this.hashTo(this.seen);
    this.spanDigests.push(`sha256:${this.hash.digest('hex')}`);
    this.hash = undefined;
  }

  /** Hash the held bytes before offset `end` into the current span and let them go. */
  private hashTo(end: number): void {
    while (this.held.length > 0 && this.heldFrom < end) {
      const chunk = this.held[0]!;
      const take = Math.min(chunk.length, end - this.heldFrom);
      this.hash!.update(chunk.subarray(0, take));
      this.heldFrom += take;
      if (take === chunk.length) this.held.shift();
      else this.held[0] = chunk.subarray(take);
    }
  }

  /** The held bytes from `from` to `end`, left held. */
  private peek(from: number, end: number): Buffer {
    const parts: Buffer[] = [];
    let at = this.heldFrom;
    for (const chunk of this.held) {
      if (at >= end) break;
      const a = Math.max(from, at) - at;
      const z = Math.min(end, at + chunk.length) - at;
      if (z > a) parts.push(chunk.subarray(a, z));
      at += chunk.length;
    }
    return Buffer.concat(parts);
  }

  /** Let go of the held bytes before `start`, unhashed (the gzip header). */
  private release(start: number): void {
    while (this.held.length > 0 && this.heldFrom < start) {
      const chunk = this.held[0]!;
      const skip = Math.min(chunk.length, start - this.heldFrom);
      this.heldFrom += skip;
      if (skip === chunk.length) this.held.shift();
      else this.held[0] = chunk.subarray(skip);
    }
  }
}
