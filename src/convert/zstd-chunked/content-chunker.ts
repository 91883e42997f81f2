/*
 * How containers/storage cuts a file's content into the chunks of a zstd:chunked layer
 * (pkg/chunked/compressor: holesFinder, rollingChecksumReader, rollsum.go), so that a layer
 * written here splits a file where c/storage's would and a partial pull can reuse chunks
 * across images written by either:
 * - a maximal run of at least 1024 zero bytes is a chunk of its own, of type "zeros";
 * - other bytes (shorter zero runs included) pass through bup's rolling checksum (a 64-byte
 *   window), and a chunk ends after the byte at which the low 16 bits of its second sum are
 *   all ones (so ~64 KiB on average). The checksum rolls through holes too, and is not reset
 *   between chunks of one file.
 * Only the low 16 bits of the sums are kept: the split test reads no others, and the sums
 * are built from additions and multiplications alone, so their low bits do not depend on
 * the high ones.
 */

const WINDOW = 64;
const CHAR_OFFSET = 31;
/** Zero runs of at least this many bytes are holes (c/storage's `holesThreshold`). */
export const HOLE_THRESHOLD = 1024;
const SPLIT_MASK = 0xffff; // RollsumBits = 16

/** One step of a file's chunking: bytes of the current chunk, or the end of it. */
export type ChunkOp =
  | { kind: 'bytes'; bytes: Buffer }
  | {
      kind: 'cut';
      /** The chunk that ends is a run of zeros. */
      zeros: boolean;
    };

const ZEROS = Buffer.alloc(1024 * 1024);

/** Push `n` zero bytes as views of one shared zero buffer. */
function pushZeros(ops: ChunkOp[], n: number): void {
  for (let left = n; left > 0; left -= ZEROS.length) {
    ops.push({ kind: 'bytes', bytes: ZEROS.subarray(0, Math.min(left, ZEROS.length)) });
  }
}

/**
 * Chunks one file's content as it streams: {@link feed} each piece, then {@link finish}.
 * Both return the steps to apply in order; `bytes` views are valid as long as the piece
 * given. A chunk of no bytes is never cut.
 */
export class ContentChunker {
  private s1 = (WINDOW * CHAR_OFFSET) & 0xffff;
  private s2 = (WINDOW * (WINDOW - 1) * CHAR_OFFSET) & 0xffff;
  private readonly window = new Uint8Array(WINDOW);
  private wofs = 0;
  /** Zero bytes seen and not yet classified (their run has not ended). */
  private zeros = 0;
  /** Bytes in the current chunk so far. */
  private chunkBytes = 0;

  feed(piece: Buffer): ChunkOp[] {
    const ops: ChunkOp[] = [];
    const n = piece.length;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const c = piece[i]!;
      if (c === 0) {
        if (i > start) {
          ops.push({ kind: 'bytes', bytes: piece.subarray(start, i) });
          this.chunkBytes += i - start;
        }
        start = i + 1;
        this.zeros++;
        continue;
      }
      if (this.zeros > 0) this.settleZeros(ops);
      if (this.roll(c)) {
        ops.push({ kind: 'bytes', bytes: piece.subarray(start, i + 1) });
        this.chunkBytes = 0;
        ops.push({ kind: 'cut', zeros: false });
        start = i + 1;
      }
    }
    if (n > start && this.zeros === 0) {
      ops.push({ kind: 'bytes', bytes: piece.subarray(start, n) });
      this.chunkBytes += n - start;
    }
    return ops;
  }

  /** The end of the file: the pending zeros and the last chunk's cut. */
  finish(): ChunkOp[] {
    const ops: ChunkOp[] = [];
    if (this.zeros > 0) this.settleZeros(ops);
    if (this.chunkBytes > 0) ops.push({ kind: 'cut', zeros: false });
    this.chunkBytes = 0;
    return ops;
  }

  /** The zero run has ended: a hole of its own, or data bytes rolled one by one. */
  private settleZeros(ops: ChunkOp[]): void {
    const run = this.zeros;
    this.zeros = 0;
    if (run >= HOLE_THRESHOLD) {
      if (this.chunkBytes > 0) ops.push({ kind: 'cut', zeros: false });
      // Past a full window of zeros another zero changes neither sum.
      for (let k = 0; k < Math.min(run, WINDOW); k++) this.roll(0);
      pushZeros(ops, run);
      ops.push({ kind: 'cut', zeros: true });
      this.chunkBytes = 0;
      return;
    }
    let pending = 0;
    for (let k = 0; k < run; k++) {
      pending++;
      if (this.roll(0)) {
        pushZeros(ops, pending);
        ops.push({ kind: 'cut', zeros: false });
        this.chunkBytes = 0;
        pending = 0;
      }
    }
    if (pending > 0) {
      pushZeros(ops, pending);
      this.chunkBytes += pending;
    }
  }

  /** Roll `c` in; true when the chunk ends after it. */
  private roll(c: number): boolean {
    const drop = this.window[this.wofs]!;
    this.window[this.wofs] = c;
    this.wofs = (this.wofs + 1) & (WINDOW - 1);
    this.s1 = (this.s1 + c - drop) & 0xffff;
    this.s2 = (this.s2 + this.s1 - ((drop + CHAR_OFFSET) << 6)) & 0xffff;
    return this.s2 === SPLIT_MASK;
  }
}
