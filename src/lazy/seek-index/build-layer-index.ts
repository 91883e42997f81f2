import { digestOf } from '../../digest/index.js';
import { DecompressionError, InvalidArgumentError } from '../../errors/index.js';
import { scanTarEntries, type TarEntry } from '../../tar/index.js';
import { InlinePieceHasher, type PieceDigests, PieceHasher } from './piece-hasher.js';
import {
  type BlockBoundary,
  BlockInflater,
  defaultInflateEngine,
  type InflateEngine,
  InflateFailure,
  WINDOW_SIZE,
} from './raw-inflate.js';
import {
  DEFAULT_PIECE,
  DEFAULT_SPAN,
  type LayerSeekIndex,
  packSpanRecords,
  type SeekPiece,
  type SpanRecord,
} from './seek-index-format.js';

/** Options of {@link buildLayerSeekIndex}. */
export interface BuildLayerSeekIndexOptions {
  /** Uncompressed bytes between checkpoints, at most (plus a block; default 4 MiB). */
  span?: number;
  /**
   * Compressed bytes between checkpoints, at most (plus a block). Default: 0.5% of the
   * layer, at least 128 KiB ({@link defaultCompressedSpan}).
   */
  compressedSpan?: number;
  /** Uncompressed bytes between piece digests inside a span, at least (default 32 KiB). */
  piece?: number;
  signal?: AbortSignal;
  /** Which inflate runs (default: Node's own zlib through koffi, see raw-inflate.ts). */
  engine?: InflateEngine;
  /**
   * Told every deflate block boundary of the layer as it passes (absolute bit and output
   * offset; `memberStart` at the first block of each gzip member after the first), with
   * the window there: what another index format (SOCI's zTOC) takes from the same pass.
   */
  onBlockBoundary?: (
    at: { bit: number; out: number; memberStart: boolean },
    window: () => Uint8Array,
  ) => void;
  /**
   * Hash the pieces on a thread of their own (piece-hasher.ts); default: for layers of
   * 16 MiB or more, below which starting the thread costs more than it saves.
   */
  hashOnThread?: boolean;
}

/**
 * The layer size from which pieces are hashed on a thread. Starting a thread costs tens of
 * milliseconds of CPU, about what hashing a few tens of MB of output does (sha256 runs at
 * ~1.5 GB/s here, and a gzip layer's tar is ~3 times its size); not tuned further.
 */
const THREAD_HASHING_FROM = 16 * 1024 * 1024;

/** One layer's index as built: the table and the records blob its checkpoints point into. */
export interface BuiltLayerSeekIndex {
  /** The table (checkpoints and entries). */
  index: LayerSeekIndex;
  /** The records blob (windows and piece digests), `index.records` names it. */
  records: Buffer;
}

/** The smallest span accepted: below it the windows would outweigh the spans. */
const MIN_SPAN = 64 * 1024;
/** The smallest piece accepted: below it the digests would outweigh the pieces. */
const MIN_PIECE = 4 * 1024;

/**
 * The compressed spacing of checkpoints when none is asked for: 0.5% of the layer, so that
 * reading a small file fetches about that much of it (plus the table and one window), but
 * at least 128 KiB, below which the windows (up to 32 KiB each) would outweigh the spans.
 */
export function defaultCompressedSpan(layerSize: number): number {
  return Math.max(128 * 1024, Math.ceil(layerSize / 200));
}

interface OpenSpan {
  bit: number;
  out: number;
  member?: true;
  record: SpanRecord;
}

/**
 * Build the seek index of one gzip layer from its compressed bytes, read once: the
 * inflater stops at every deflate block boundary, a checkpoint is taken at the first one
 * at least `span` bytes of output or `compressedSpan` bytes of input after the last (the
 * first bounds the inflate work of a read, the second the bytes it fetches) and a piece ends at the first one at least `piece`
 * bytes after the last, each piece's output is hashed as it passes, and the tar headers
 * are scanned from the same output. `layer` is what the bytes were verified against (the
 * caller streams them through a verifying reader).
 */
export async function buildLayerSeekIndex(
  compressed: AsyncIterable<Uint8Array>,
  layer: { digest: string; size: number },
  options: BuildLayerSeekIndexOptions = {},
): Promise<BuiltLayerSeekIndex> {
  const span = options.span ?? DEFAULT_SPAN;
  const compressedSpan = options.compressedSpan ?? defaultCompressedSpan(layer.size);
  const piece = options.piece ?? Math.min(DEFAULT_PIECE, span);
  for (const [name, value] of [
    ['span', span],
    ['compressed span', compressedSpan],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < MIN_SPAN) {
      throw new InvalidArgumentError(`${name} must be at least ${MIN_SPAN} bytes, got ${value}`);
    }
  }
  if (!Number.isSafeInteger(piece) || piece < MIN_PIECE || piece > span) {
    throw new InvalidArgumentError(
      `piece must be ${MIN_PIECE} bytes to the span (${span}), got ${piece}`,
    );
  }
  const spans: OpenSpan[] = [];
  const onThread = options.hashOnThread ?? layer.size >= THREAD_HASHING_FROM;
  // With a hashing thread, the members' CRC-32s are computed there, off the main thread,
  // and zlib leaves them out (libz's inflateValidate; pako cannot).
  const crcOnThread = onThread && (options.engine ?? defaultInflateEngine()) === 'libz';
  const hasher: PieceDigests = onThread ? new PieceHasher(crcOnThread) : new InlinePieceHasher();
  /** Each member's CRC-32 from its trailer, where the inflater did not check it. */
  const trailerCrcs: number[] = [];
  /** Every piece cut, in order: their digests are filled in when the hasher is done. */
  const cut: SeekPiece[] = [];
  /** Every record whose window the hasher packs, in order: filled in when it is done. */
  const windowed: SpanRecord[] = [];
  let pieceEnd = { bit: 0, out: 0 };
  let pending: Uint8Array[] = [];
  const endPiece = (bit: number, out: number) => {
    const p: SeekPiece = { bit, out, digest: '' };
    spans.at(-1)?.record.pieces.push(p);
    cut.push(p);
    hasher.cut();
    pieceEnd = { bit, out };
  };
  // Each gzip member is a stream of its own: a checkpoint at its first block (no window
  // needed), offsets counted from the layer's start.
  let memberByte = 0;
  let memberOut = 0;
  const onBoundary = (rel: BlockBoundary, window: () => Uint8Array) => {
    const at = { bit: rel.bit + memberByte * 8, out: rel.out + memberOut };
    const last = spans.at(-1);
    options.onBlockBoundary?.({ ...at, memberStart: rel.out === 0 && memberByte > 0 }, window);
    if (last && rel.out === 0 && memberByte > 0) {
      const record = { window: Buffer.alloc(0), pieces: [] };
      spans.push({ bit: at.bit, out: at.out, member: true, record });
      pieceEnd = at;
      return;
    }
    if (last && at.out === pieceEnd.out) return;
    if (!last || at.out - last.out >= span || at.bit - last.bit >= compressedSpan * 8) {
      if (last) endPiece(at.bit, at.out);
      const incompressible =
        last !== undefined && at.bit - last.bit >= (at.out - last.out) * 8 * 0.9;
      // The window is the member's last 32 KiB of output, the last bytes the hasher was
      // given (the inflater hands on its output before each boundary): the hasher packs it.
      const record: SpanRecord = { window: Buffer.alloc(0), pieces: [] };
      hasher.window(Math.min(WINDOW_SIZE, rel.out), incompressible, window);
      windowed.push(record);
      spans.push({ bit: at.bit, out: at.out, record });
      pieceEnd = at;
    } else if (at.out - pieceEnd.out >= piece) {
      endPiece(at.bit, at.out);
    }
  };
  const newInflater = () =>
    new BlockInflater(
      { wrapper: 'gzip', engine: options.engine, check: !crcOnThread },
      (output) => {
        hasher.update(output);
        pending.push(output);
      },
      onBoundary,
    );
  /**
   * A member ended: its last 8 bytes are its trailer, its deflate data (and last piece)
   * ends before them. A checkpoint at its output's end (an empty last block follows it,
   * or the member is empty) starts no span.
   */
  const closeMember = (deflateEndBit: number, produced: number) => {
    if (spans.length > 1 && spans.at(-1)!.out === produced) spans.pop();
    if (produced === memberOut && memberByte > 0) return;
    const lastPiece = spans.at(-1)?.record.pieces.at(-1);
    if (pieceEnd.out < produced || !lastPiece) endPiece(deflateEndBit, produced);
    else lastPiece.bit = deflateEndBit;
  };
  let inflater = newInflater();
  let consumed = 0;
  let deflateEnd = 0;
  let padding = false;
  /** The last 8 input bytes used: a member's trailer once it ended. */
  const tail = Buffer.alloc(8);
  const keepTail = (used: Uint8Array) => {
    if (used.length >= 8) tail.set(used.subarray(used.length - 8));
    else {
      tail.copyWithin(0, used.length);
      tail.set(used, 8 - used.length);
    }
  };
  /** A member ended: check its trailer where zlib did not (its CRC-32 once hashed). */
  const checkTrailer = () => {
    if (inflater.checked) return;
    if (tail.readUInt32LE(4) !== inflater.produced >>> 0) {
      throw new DecompressionError('gzip', `layer ${layer.digest}: incorrect length check`);
    }
    trailerCrcs.push(tail.readUInt32LE(0));
    hasher.memberEnd();
  };
  const write = (bytes: Uint8Array): number => {
    try {
      return inflater.write(bytes);
    } catch (err) {
      if (err instanceof InflateFailure) {
        throw new DecompressionError('gzip', `layer ${layer.digest}: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
  };
  /**
   * The layer's tar, inflated as the scanner asks for it: each write stops when the
   * inflater's output room is full and its views are handed on before the next write,
   * which may reuse the room (see BlockInflater).
   */
  async function* uncompressed(): AsyncGenerator<Uint8Array> {
    const handOn = () => {
      const out = pending;
      pending = [];
      return out;
    };
    for await (const chunk of compressed) {
      options.signal?.throwIfAborted();
      let rest = chunk;
      for (;;) {
        if (inflater.done) {
          if (rest.length === 0) break;
          // Zeros after the last member are padding, as gzip(1) takes them.
          if (padding || rest[0] === 0) {
            padding = true;
            if (rest.some((b) => b !== 0)) {
              throw new DecompressionError(
                'gzip',
                `layer ${layer.digest}: data after the zero padding at byte ${consumed}`,
              );
            }
            break;
          }
          memberByte = consumed;
          memberOut += inflater.produced;
          inflater.close();
          inflater = newInflater();
        } else if (rest.length === 0 && !inflater.outputFull) {
          break;
        }
        const used = write(rest);
        consumed += used;
        if (!inflater.checked) keepTail(rest.subarray(0, used));
        rest = rest.subarray(used);
        if (inflater.done) {
          checkTrailer();
          deflateEnd = consumed - 8;
          closeMember(deflateEnd * 8, memberOut + inflater.produced);
        }
        yield* handOn();
      }
    }
    while (inflater.outputFull) {
      write(new Uint8Array(0));
      yield* handOn();
    }
    if (!inflater.done) {
      throw new DecompressionError('gzip', `layer ${layer.digest}: the stream ends early`);
    }
  }
  const entries: TarEntry[] = [];
  try {
    await scanTarEntries(uncompressed(), (e) => entries.push({ ...e }), {
      signal: options.signal,
    });
    const { digests, windows, members } = await hasher.finish();
    for (const [i, crc] of trailerCrcs.entries()) {
      if (members[i] !== crc) {
        throw new DecompressionError('gzip', `layer ${layer.digest}: incorrect data check`);
      }
    }
    if (digests.length !== cut.length || windows.length !== windowed.length) {
      throw new Error(
        `${digests.length} piece digests for ${cut.length} pieces, ${windows.length} windows for ${windowed.length}`,
      );
    }
    for (const [i, p] of cut.entries()) p.digest = digests[i]!;
    for (const [i, r] of windowed.entries()) {
      const w = windows[i]!;
      r.window = Buffer.from(w.buffer, w.byteOffset, w.length);
    }
  } finally {
    inflater.close();
    hasher.close();
  }
  if (spans.length === 0) {
    throw new DecompressionError('gzip', `layer ${layer.digest}: no deflate data`);
  }
  const produced = memberOut + inflater.produced;
  const { checkpoints, records } = packSpanRecords(spans);
  return {
    index: {
      layer: { digest: layer.digest, size: layer.size },
      span,
      compressedSpan,
      size: produced,
      deflateEnd,
      records: { digest: digestOf(records, 'sha256'), size: records.length },
      checkpoints,
      entries,
    },
    records,
  };
}
