import { DecompressionError } from '../../errors/index.js';
import type { PieceDigests } from './piece-hasher.js';
import {
  type BlockBoundary,
  BlockInflater,
  type InflateEngine,
  InflateFailure,
  WINDOW_SIZE,
} from './raw-inflate.js';
import type { SeekPiece, SpanRecord } from './seek-index-format.js';

/** A checkpoint as the pass takes it: where, and its record (pieces; window filled in later). */
export interface OpenSpan {
  bit: number;
  out: number;
  member?: true;
  record: SpanRecord;
}

/** What the hasher is told during the pass (its `finish` is the builder's). */
export type PassHasher = Pick<PieceDigests, 'update' | 'cut' | 'window' | 'memberEnd'>;

/** Options of {@link LayerIndexer}: the checkpoint and piece spacing, checked by the builder. */
export interface LayerIndexerOptions {
  span: number;
  compressedSpan: number;
  piece: number;
  engine?: InflateEngine;
  /** Let zlib check each member's CRC-32 (else the hasher computes it: `memberEnd`). */
  check: boolean;
  onBlockBoundary?: (
    at: { bit: number; out: number; memberStart: boolean },
    window: () => Uint8Array,
  ) => void;
}

/**
 * What one pass over a layer decided: the checkpoints with their pieces (digests not yet
 * known), every piece cut and every record whose window the hasher packs, each in the
 * order the hasher gives them back, the trailers' CRC-32s zlib did not check, where the
 * deflate data ends and the uncompressed size. Plain data: a worker posts it whole
 * (structured cloning keeps `cut` and `windowed` the same objects as in `spans`).
 */
export interface LayerPass {
  spans: OpenSpan[];
  cut: SeekPiece[];
  windowed: SpanRecord[];
  trailerCrcs: number[];
  deflateEnd: number;
  produced: number;
}

/**
 * One pass of a gzip layer's inflate for its seek index: stops at every deflate block
 * boundary (BlockInflater), takes a checkpoint at the first one at least `span` bytes of
 * output or `compressedSpan` bytes of input after the last, ends a piece at the first one
 * at least `piece` bytes after the last, tells the hasher the output, the piece ends and
 * the windows, and handles gzip members (a checkpoint marked `member` at each one's first
 * block), their trailers and zero padding after the last. The same code runs on the main
 * thread (small layers, SOCI's hook) and on the inflate thread (inflate-index-worker.ts).
 * {@link LayerIndexer.close} it when done, also after a failure.
 */
export class LayerIndexer {
  private readonly spans: OpenSpan[] = [];
  private readonly cut: SeekPiece[] = [];
  private readonly windowed: SpanRecord[] = [];
  private readonly trailerCrcs: number[] = [];
  private pieceEnd = { bit: 0, out: 0 };
  private pending: Uint8Array[] = [];
  private memberByte = 0;
  private memberOut = 0;
  private inflater: BlockInflater;
  private consumed = 0;
  private deflateEnd = 0;
  private padding = false;
  /** The last 8 input bytes used: a member's trailer once it ended. */
  private readonly tail = Buffer.alloc(8);

  constructor(
    private readonly layerDigest: string,
    private readonly options: LayerIndexerOptions,
    private readonly hasher: PassHasher,
  ) {
    this.inflater = this.newInflater();
  }

  /**
   * Inflate `chunk`, yielding the output as views that stay valid until the second view
   * after them (the inflater's two rooms): the caller uses each before asking for more.
   */
  *write(chunk: Uint8Array): Generator<Uint8Array> {
    let rest = chunk;
    for (;;) {
      if (this.inflater.done) {
        if (rest.length === 0) break;
        // Zeros after the last member are padding, as gzip(1) takes them.
        if (this.padding || rest[0] === 0) {
          this.padding = true;
          if (rest.some((b) => b !== 0)) {
            throw new DecompressionError(
              'gzip',
              `layer ${this.layerDigest}: data after the zero padding at byte ${this.consumed}`,
            );
          }
          break;
        }
        this.memberByte = this.consumed;
        this.memberOut += this.inflater.produced;
        this.inflater.close();
        this.inflater = this.newInflater();
      } else if (rest.length === 0 && !this.inflater.outputFull) {
        break;
      }
      const used = this.inflate(rest);
      this.consumed += used;
      if (!this.inflater.checked) this.keepTail(rest.subarray(0, used));
      rest = rest.subarray(used);
      if (this.inflater.done) {
        this.checkTrailer();
        this.deflateEnd = this.consumed - 8;
        this.closeMember(this.deflateEnd * 8, this.memberOut + this.inflater.produced);
      }
      yield* this.handOn();
    }
  }

  /** The input ended: the rest of the output, then the pass (a stream cut short fails). */
  *end(): Generator<Uint8Array, LayerPass> {
    while (this.inflater.outputFull) {
      this.inflate(new Uint8Array(0));
      yield* this.handOn();
    }
    if (!this.inflater.done) {
      throw new DecompressionError('gzip', `layer ${this.layerDigest}: the stream ends early`);
    }
    if (this.spans.length === 0) {
      throw new DecompressionError('gzip', `layer ${this.layerDigest}: no deflate data`);
    }
    return {
      spans: this.spans,
      cut: this.cut,
      windowed: this.windowed,
      trailerCrcs: this.trailerCrcs,
      deflateEnd: this.deflateEnd,
      produced: this.memberOut + this.inflater.produced,
    };
  }

  /** Release the inflate stream (native memory for libz). */
  close(): void {
    this.inflater.close();
  }

  private handOn(): Uint8Array[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  private newInflater(): BlockInflater {
    return new BlockInflater(
      { wrapper: 'gzip', engine: this.options.engine, check: this.options.check },
      (output) => {
        this.hasher.update(output);
        this.pending.push(output);
      },
      (rel, window) => this.onBoundary(rel, window),
    );
  }

  private endPiece(bit: number, out: number): void {
    const p: SeekPiece = { bit, out, digest: '' };
    this.spans.at(-1)?.record.pieces.push(p);
    this.cut.push(p);
    this.hasher.cut();
    this.pieceEnd = { bit, out };
  }

  // Each gzip member is a stream of its own: a checkpoint at its first block (no window
  // needed), offsets counted from the layer's start.
  private onBoundary(rel: BlockBoundary, window: () => Uint8Array): void {
    const { span, compressedSpan, piece } = this.options;
    const at = { bit: rel.bit + this.memberByte * 8, out: rel.out + this.memberOut };
    const last = this.spans.at(-1);
    const memberStart = rel.out === 0 && this.memberByte > 0;
    this.options.onBlockBoundary?.({ ...at, memberStart }, window);
    if (last && memberStart) {
      const record = { window: Buffer.alloc(0), pieces: [] };
      this.spans.push({ bit: at.bit, out: at.out, member: true, record });
      this.pieceEnd = at;
      return;
    }
    if (last && at.out === this.pieceEnd.out) return;
    if (!last || at.out - last.out >= span || at.bit - last.bit >= compressedSpan * 8) {
      if (last) this.endPiece(at.bit, at.out);
      const incompressible =
        last !== undefined && at.bit - last.bit >= (at.out - last.out) * 8 * 0.9;
      // The window is the member's last 32 KiB of output, the last bytes the hasher was
      // given (the inflater hands on its output before each boundary): the hasher packs it.
      const record: SpanRecord = { window: Buffer.alloc(0), pieces: [] };
      this.hasher.window(Math.min(WINDOW_SIZE, rel.out), incompressible, window);
      this.windowed.push(record);
      this.spans.push({ bit: at.bit, out: at.out, record });
      this.pieceEnd = at;
    } else if (at.out - this.pieceEnd.out >= piece) {
      this.endPiece(at.bit, at.out);
    }
  }

  /**
   * A member ended: its last 8 bytes are its trailer, its deflate data (and last piece)
   * ends before them. A checkpoint at its output's end (an empty last block follows it,
   * or the member is empty) starts no span.
   */
  private closeMember(deflateEndBit: number, produced: number): void {
    const spans = this.spans;
    if (spans.length > 1 && spans.at(-1)!.out === produced) spans.pop();
    if (produced === this.memberOut && this.memberByte > 0) return;
    const lastPiece = spans.at(-1)?.record.pieces.at(-1);
    if (this.pieceEnd.out < produced || !lastPiece) this.endPiece(deflateEndBit, produced);
    else lastPiece.bit = deflateEndBit;
  }

  private keepTail(used: Uint8Array): void {
    const tail = this.tail;
    if (used.length >= 8) tail.set(used.subarray(used.length - 8));
    else {
      tail.copyWithin(0, used.length);
      tail.set(used, 8 - used.length);
    }
  }

  /** A member ended: check its trailer where zlib did not (its CRC-32 once hashed). */
  private checkTrailer(): void {
    if (this.inflater.checked) return;
    if (this.tail.readUInt32LE(4) !== this.inflater.produced >>> 0) {
      throw new DecompressionError('gzip', `layer ${this.layerDigest}: incorrect length check`);
    }
    this.trailerCrcs.push(this.tail.readUInt32LE(0));
    this.hasher.memberEnd();
  }

  private inflate(bytes: Uint8Array): number {
    try {
      return this.inflater.write(bytes);
    } catch (err) {
      if (err instanceof InflateFailure) {
        throw new DecompressionError('gzip', `layer ${this.layerDigest}: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
  }
}
