import {
  Z_BLOCK,
  Z_BUF_ERROR,
  Z_NO_FLUSH,
  Z_OK,
  Z_STREAM_END,
  ZStream,
  zlibInflate,
  zlibInflateEnd,
  zlibInflateInit2,
  zlibInflateSetDictionary,
} from 'pako';
import { LibzStream } from '../../native/libz.js';

/*
 * Why not node:zlib: a seek index starts inflating in the middle of a deflate stream, at a
 * block boundary that is usually not on a byte boundary, with the 32 KiB the stream
 * produced before it as the dictionary. zlib does that with inflatePrime (the first bits)
 * and inflateSetDictionary; Node exposes neither inflatePrime nor where blocks end
 * (Z_BLOCK and data_type), both needed here. So the same zlib calls are made on one of two
 * engines with one interface ({@link InflateStream}):
 * - `libz`: the zlib Node is built with (node:zlib's own), called through koffi
 *   (`native/libz.ts`), the default where koffi loads;
 * - `pako`: a maintained, line-for-line JavaScript port of zlib's inflate whose low-level
 *   API (ZStream, inflate with Z_BLOCK, data_type, inflateSetDictionary) is public;
 *   inflatePrime is the one call it leaves out, and it is three lines of state
 *   (`prime`). Used where koffi does not load.
 * Measured building the debian layer's index (49 MB in, CPU time of the whole build):
 * pako's inflate_fast was 55% of it; libz's inflate runs about three times as fast. Both
 * stop at the same block boundaries (they are the stream's), so the index is the same
 * bytes either way (tested). Every other gzip read stays on node:zlib.
 */

/** Which zlib inflate runs: Node's own zlib through koffi (`libz`) or pako's JavaScript port. */
export type InflateEngine = 'libz' | 'pako';

/** The z_stream fields and calls of zlib's inflate that the seek index uses. */
interface InflateStream {
  input: Uint8Array;
  next_in: number;
  avail_in: number;
  output: Uint8Array<ArrayBuffer>;
  next_out: number;
  avail_out: number;
  data_type: number;
  msg: string;
  inflate(flush: number): number;
  /** zlib's inflatePrime: `bits` bits of `value` before the next input byte. */
  prime(bits: number, value: number): number;
  setDictionary(dictionary: Uint8Array): number;
  /** Release what the stream holds (native memory for libz); later calls do nothing. */
  end(): void;
  /**
   * zlib's inflateValidate(strm, 0) where the engine has it: a gzip member's CRC-32 and
   * length are then neither computed nor checked. False where it cannot (pako).
   */
  skipCheck(): boolean;
  /**
   * Room for output, for `output`: libz gives native memory it inflates into directly (no
   * copy), valid until {@link InflateStream.end}; pako a plain buffer.
   */
  outputRoom(size: number): Uint8Array<ArrayBuffer>;
}

/** pako's ZStream with the calls as methods. */
class PakoStream extends ZStream implements InflateStream {
  declare input: Uint8Array;
  declare msg: string;

  constructor(windowBits: number) {
    super();
    if (zlibInflateInit2(this, windowBits) !== Z_OK) throw new Error('cannot start inflate');
  }

  inflate(flush: number): number {
    return zlibInflate(this, flush as 0);
  }

  /**
   * pako leaves out inflatePrime; it keeps its bit accumulator in `state.hold`/`state.bits`
   * exactly as zlib does, so this is zlib's inflatePrime for the first byte's bits.
   */
  prime(bits: number, value: number): number {
    const state = this.state as { hold: number; bits: number };
    state.hold += (value & ((1 << bits) - 1)) << state.bits;
    state.bits += bits;
    return Z_OK;
  }

  setDictionary(dictionary: Uint8Array): number {
    return zlibInflateSetDictionary(this, dictionary);
  }

  end(): void {
    zlibInflateEnd(this);
  }

  /** pako has no inflateValidate: it checks the trailer as before. */
  skipCheck(): boolean {
    return false;
  }

  outputRoom(size: number): Uint8Array<ArrayBuffer> {
    return newOutput(size);
  }
}

let defaultEngine: InflateEngine | undefined;

/** The engine used when none is asked for: libz where it loads, else pako (decided once). */
export function defaultInflateEngine(): InflateEngine {
  if (defaultEngine) return defaultEngine;
  try {
    new LibzStream(-15).end();
    defaultEngine = 'libz';
  } catch {
    defaultEngine = 'pako';
  }
  return defaultEngine;
}

/** A {@link LibzStream} as an {@link InflateStream}. */
class NativeStream extends LibzStream implements InflateStream {
  skipCheck(): boolean {
    return this.validate(false) === Z_OK;
  }
}

function openStream(windowBits: number, engine = defaultInflateEngine()): InflateStream {
  try {
    return engine === 'libz' ? new NativeStream(windowBits) : new PakoStream(windowBits);
  } catch (err) {
    throw new InflateFailure(
      `cannot start inflate (${engine}): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** The bytes deflate may refer back to: a checkpoint's window is at most this long. */
export const WINDOW_SIZE = 32 * 1024;

/** Where a raw deflate stream is entered: a bit position and the output before it. */
export interface InflateStart {
  /** Bits of the first input byte already consumed (0-7): the stream starts at that bit. */
  bitShift: number;
  /** Up to 32 KiB of output that precede the start (empty at the stream's start). */
  window: Uint8Array;
}

/** What a raw inflate could not do: the message says what, in zlib's words. */
export class InflateFailure extends Error {}

/** A raw-deflate stream entered at `start` (bit shift and window applied). */
function enter(input: Uint8Array, start: InflateStart, engine?: InflateEngine): InflateStream {
  const strm = openStream(-15, engine);
  try {
    if (start.window.length > 0 && strm.setDictionary(start.window) !== Z_OK) {
      throw new InflateFailure('cannot set the window');
    }
    let from = 0;
    if (start.bitShift !== 0) {
      if (input.length === 0) throw new InflateFailure('no input for the first bits');
      if (strm.prime(8 - start.bitShift, input[0]! >> start.bitShift) !== Z_OK) {
        throw new InflateFailure('cannot enter the stream at its bit');
      }
      from = 1;
    }
    strm.input = input;
    strm.next_in = from;
    strm.avail_in = input.length - from;
    return strm;
  } catch (err) {
    strm.end();
    throw err;
  }
}

/**
 * Inflate exactly `outSize` bytes of raw deflate from `input`, whose first byte holds the
 * stream's first bits from `start.bitShift` on, with `start.window` as what came before.
 * Fewer bytes (the stream ends or the input runs out) or a stream zlib refuses throws an
 * {@link InflateFailure}; the output is never short.
 */
export function inflateRange(
  input: Uint8Array,
  start: InflateStart,
  outSize: number,
  engine?: InflateEngine,
): Buffer {
  const out = Buffer.allocUnsafe(outSize);
  if (outSize === 0) return out;
  const strm = enter(input, start, engine);
  try {
    strm.output = new Uint8Array(out.buffer, out.byteOffset, out.length) as Uint8Array<ArrayBuffer>;
    strm.next_out = 0;
    strm.avail_out = outSize;
    return inflateInto(strm, out, outSize);
  } finally {
    strm.end();
  }
}

function inflateInto(strm: InflateStream, out: Buffer, outSize: number): Buffer {
  for (;;) {
    const status = strm.inflate(Z_NO_FLUSH);
    if (strm.avail_out === 0) return out;
    if (status === Z_STREAM_END) {
      throw new InflateFailure(
        `the deflate stream ended after ${strm.next_out} of ${outSize} bytes`,
      );
    }
    if (status === Z_BUF_ERROR || strm.avail_in === 0) {
      throw new InflateFailure(`the input ran out after ${strm.next_out} of ${outSize} bytes`);
    }
    if (status !== Z_OK) throw new InflateFailure(strm.msg || `inflate failed (${status})`);
  }
}

/** A block boundary the streaming inflater stopped at. */
export interface BlockBoundary {
  /** Absolute bit position (in the input as fed) where the next block starts. */
  bit: number;
  /** Uncompressed bytes produced before it. */
  out: number;
}

/** Options of {@link BlockInflater}. */
export interface BlockInflaterOptions {
  /** Size of each output piece handed to `onOutput` at most (default 256 KiB). */
  outputPiece?: number;
  /** Gzip member (`gzip`, the header parsed and skipped) or bare deflate (`raw`). */
  wrapper: 'gzip' | 'raw';
  /** Which inflate runs (default {@link defaultInflateEngine}). */
  engine?: InflateEngine;
  /**
   * `false`: the caller checks each gzip member's CRC-32 and length itself (the trailer is
   * still read), so zlib need not compute the CRC where the engine can leave it out
   * ({@link BlockInflater.checked} says whether it did). Default true.
   */
  check?: boolean;
}

/**
 * Streaming inflate of one gzip member (or raw deflate) that stops at every deflate block
 * boundary and asks `atBoundary` whether to take a checkpoint there: the state zran.c
 * keeps (bit position, output offset, the last 32 KiB of output) is what it gets. Output
 * is handed to `onOutput` as views into one of two output rooms used in turn, so a view is
 * valid until the second {@link BlockInflater.write} after it: `write` stops when the room
 * is full ({@link BlockInflater.outputFull}), and its caller consumes the views before
 * writing on. Reusing the rooms is what keeps a build from allocating (and the kernel
 * from faulting in) a fresh buffer for every 256 KiB of the layer's tar, and for libz the
 * rooms are the native memory zlib writes, so the output is never copied.
 * {@link BlockInflater.close} it when done (also after a failure): a libz stream holds
 * native memory, the rooms included.
 */
export class BlockInflater {
  private readonly strm: InflateStream;
  private readonly piece: number;
  /** The room being written: output before `handed` was given to `onOutput`. */
  private buf: Uint8Array<ArrayBuffer>;
  /** The room written before `buf` (full), whose tail a window may need. */
  private previous: Uint8Array<ArrayBuffer> | undefined;
  private handed = 0;
  /** The chunk being inflated (`strm.next_in` indexes it) and its offset in the input. */
  private input: Uint8Array | undefined;
  private inputAt = 0;
  private outTotal = 0;
  private ended = false;
  /**
   * Whether zlib checks the gzip trailer (CRC-32 and length): false only when asked
   * (`check: false`) and the engine could leave it out; the caller checks it then.
   */
  readonly checked: boolean;

  constructor(
    options: BlockInflaterOptions,
    private readonly onOutput: (piece: Uint8Array) => void,
    private readonly atBoundary: (at: BlockBoundary, window: () => Uint8Array) => void,
  ) {
    this.piece = Math.max(options.outputPiece ?? 256 * 1024, WINDOW_SIZE);
    this.strm = openStream(options.wrapper === 'gzip' ? 31 : -15, options.engine);
    this.checked =
      options.check === false && options.wrapper === 'gzip' ? !this.strm.skipCheck() : true;
    this.buf = this.strm.outputRoom(this.piece);
    this.strm.output = this.buf;
    this.strm.next_out = 0;
    this.strm.avail_out = this.piece;
  }

  /** Whether the member's end (its trailer checked, for gzip) was reached. */
  get done(): boolean {
    return this.ended;
  }

  /** Uncompressed bytes produced so far. */
  get produced(): number {
    return this.outTotal;
  }

  /**
   * Whether the last write stopped because the output room was full: more output may come
   * without more input, so write again (an empty chunk will do) once the views are used.
   */
  get outputFull(): boolean {
    return !this.ended && this.strm.avail_out === 0;
  }

  /**
   * Inflate one chunk of input until it is used, the member ends or the output room is
   * full. Returns how many of its bytes were used; the caller writes the rest again.
   */
  write(chunk: Uint8Array): number {
    const strm = this.strm;
    if (strm.avail_out === 0) this.nextRoom();
    // The rest of the chunk the last write stopped in goes on where it is: set again, it
    // would be copied again to native memory (libz).
    const last = this.input;
    const goesOn =
      last !== undefined &&
      chunk.buffer === last.buffer &&
      chunk.byteOffset === last.byteOffset + strm.next_in &&
      chunk.length === strm.avail_in;
    const from = goesOn ? strm.next_in : 0;
    if (!goesOn) {
      if (last) this.inputAt += strm.next_in;
      this.input = chunk;
      strm.input = chunk;
      strm.next_in = 0;
      strm.avail_in = chunk.length;
    }
    do {
      const before = strm.next_out;
      const status = strm.inflate(Z_BLOCK);
      this.outTotal += strm.next_out - before;
      if (status === Z_STREAM_END) {
        this.ended = true;
        break;
      }
      if (status !== Z_OK && status !== Z_BUF_ERROR) {
        throw new InflateFailure(strm.msg || `inflate failed (${status})`);
      }
      // zran.c: at a block boundary (bit 128), not after the last block (bit 64), with
      // data_type & 7 bits of the last byte still unused.
      const dt = strm.data_type;
      if ((dt & 128) !== 0 && (dt & 64) === 0) {
        const bit = (this.inputAt + strm.next_in) * 8 - (dt & 7);
        this.flush();
        this.atBoundary({ bit, out: this.outTotal }, () => this.window());
      }
      if (status === Z_BUF_ERROR) break;
    } while (strm.avail_in > 0 && strm.avail_out > 0);
    this.flush();
    return strm.next_in - from;
  }

  /** Release the inflate stream (its native memory, for libz, output rooms included). */
  close(): void {
    this.strm.end();
  }

  /** The last 32 KiB (or fewer) of output. */
  private window(): Uint8Array {
    const end = this.strm.next_out;
    const want = Math.min(WINDOW_SIZE, this.outTotal);
    if (end >= want) return this.buf.slice(end - want, end);
    const prev = this.previous!;
    const fromPrev = want - end;
    const w = new Uint8Array(want);
    w.set(prev.subarray(prev.length - fromPrev), 0);
    w.set(this.buf.subarray(0, end), fromPrev);
    return w;
  }

  private flush(): void {
    const end = this.strm.next_out;
    if (end > this.handed) this.onOutput(this.buf.subarray(this.handed, end));
    this.handed = end;
  }

  /** Write on into the other room: the one filled before this, whose views are used. */
  private nextRoom(): void {
    this.flush();
    const full = this.buf;
    this.buf = this.previous ?? this.strm.outputRoom(this.piece);
    this.previous = full;
    this.strm.output = this.buf;
    this.strm.next_out = 0;
    this.strm.avail_out = this.piece;
    this.handed = 0;
  }
}

/** Output room, not zeroed: inflate writes every byte before any is read. */
function newOutput(size: number): Uint8Array<ArrayBuffer> {
  const b = Buffer.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, size) as Uint8Array<ArrayBuffer>;
}
