import { digestOf } from '../../digest/index.js';
import { DecompressionError, InvalidArgumentError } from '../../errors/index.js';
import { scanTarEntries, type TarEntry } from '../../tar/index.js';
import { inflateOnThread } from './inflate-on-thread.js';
import { LayerIndexer, type LayerIndexerOptions, type LayerPass } from './layer-indexer.js';
import {
  InlinePieceHasher,
  type PieceDigests,
  PieceHasher,
  type PiecesDone,
} from './piece-hasher.js';
import { defaultInflateEngine, type InflateEngine } from './raw-inflate.js';
import {
  DEFAULT_PIECE,
  DEFAULT_SPAN,
  type LayerSeekIndex,
  packSpanRecords,
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
  const onThread = options.hashOnThread ?? layer.size >= THREAD_HASHING_FROM;
  const passOptions = {
    span,
    compressedSpan,
    piece,
    ...(options.engine ? { engine: options.engine } : {}),
  };
  const entries: TarEntry[] = [];
  const onEntry = (e: TarEntry) => entries.push({ ...e });
  let pass: LayerPass;
  let done: PiecesDone;
  if (onThread && !options.onBlockBoundary) {
    // The inflate on a thread of its own, the pieces on another, the tar scan here.
    ({ pass, done } = await inflateOnThread(compressed, layer.digest, passOptions, (tar) =>
      scanTarEntries(tar, onEntry, { signal: options.signal }),
    ));
  } else {
    ({ pass, done } = await inflateHere(compressed, layer.digest, passOptions, onThread, {
      onEntry,
      ...options,
    }));
  }
  const { spans, cut, windowed, trailerCrcs } = pass;
  const { digests, windows, members } = done;
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
  const { deflateEnd, produced } = pass;
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

/**
 * The pass on the calling thread: the inflate feeds the tar scan directly, the pieces are
 * hashed here (small layers) or on the hashing thread (`onThread`: SOCI's hook, which needs
 * every boundary's window here). With the thread, each member's CRC-32 is computed there
 * and zlib leaves it out (libz's inflateValidate; pako cannot).
 */
async function inflateHere(
  compressed: AsyncIterable<Uint8Array>,
  digest: string,
  passOptions: Omit<LayerIndexerOptions, 'check'>,
  onThread: boolean,
  options: BuildLayerSeekIndexOptions & { onEntry: (e: TarEntry) => void },
): Promise<{ pass: LayerPass; done: PiecesDone }> {
  const crcOnThread = onThread && (options.engine ?? defaultInflateEngine()) === 'libz';
  const hasher: PieceDigests = onThread ? new PieceHasher(crcOnThread) : new InlinePieceHasher();
  const indexer = new LayerIndexer(
    digest,
    {
      ...passOptions,
      check: !crcOnThread,
      ...(options.onBlockBoundary ? { onBlockBoundary: options.onBlockBoundary } : {}),
    },
    hasher,
  );
  let pass: LayerPass | undefined;
  async function* uncompressed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of compressed) {
      options.signal?.throwIfAborted();
      yield* indexer.write(chunk);
    }
    pass = yield* indexer.end();
  }
  try {
    await scanTarEntries(uncompressed(), options.onEntry, { signal: options.signal });
    const done = await hasher.finish();
    return { pass: pass!, done };
  } finally {
    indexer.close();
    hasher.close();
  }
}
