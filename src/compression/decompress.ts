import { type Duplex, PassThrough, Readable, type Writable } from 'node:stream';
import { DecompressionError, isOcipeekError } from '../errors/index.js';
import { zlib } from '../node/lazy-builtins.js';
import { canPipeTo, type SinkSource } from '../transport/body-sink.js';
import { Coalesce } from './coalesce.js';
import { DecompressionLimit } from './decompression-limit.js';
import {
  type Compression,
  compressionOfMediaType,
  detectCompression,
  MAGIC_LENGTH,
} from './detect.js';
import { GzipRooms } from './gzip-rooms.js';
import { OutputRooms } from './output-rooms.js';
import { withDecompressionErrors } from './zlib-errors.js';
import { createZstdDecompressor } from './zstd-decompressor.js';

/** Options for {@link decompressStream}. */
export interface DecompressOptions {
  /** The layer's media type; a hint only, the magic bytes win when they disagree. */
  mediaType?: string;
  /** Fail with `TooLargeError` once the output exceeds this many bytes (bomb guard). */
  maxOutputBytes?: number;
  /** What a `TooLargeError` names; default `decompressed data`. */
  what?: string;
  /** Called once with what the bytes are and what the media type claimed. */
  onDetect?: (detected: Compression, declared: Compression | undefined) => void;
  /** Aborts the whole chain (source and decompressor). */
  signal?: AbortSignal;
  /**
   * Size of the pieces gzip output comes in (default 1 MiB, the fastest to list). A
   * consumer that keeps pieces alive across much allocation (unpack) asks for smaller
   * ones: a piece that outlives two scavenges is moved to the old generation and its
   * memory waits for a full GC (bench/ANALYSIS.md, fifth session).
   */
  outputChunkBytes?: number;
}

/**
 * gzip input is gathered into 1 MiB pieces and inflated into 1 MiB of output room: every
 * zlib call is a round trip to the thread pool, and fewer, larger ones measured faster
 * than zlib's default 16 KiB or 64 KiB (see {@link Coalesce}).
 */
const GUNZIP_CHUNK = 1024 * 1024;

/** A gunzip stream whose own errors (corrupt data, unexpected end of file) are DecompressionErrors. */
function gunzip(chunkSize = GUNZIP_CHUNK): Duplex {
  return withDecompressionErrors(zlib().createGunzip({ chunkSize }), 'gzip');
}

/**
 * Wait until `source` has `n` bytes buffered (or ends), take them and put them back with
 * `unshift`, so the caller can look at the first bytes without consuming them. Returns the
 * stream to read from afterwards (the source itself, unless it already ended).
 */
async function peek(
  source: Readable,
  n: number,
  signal?: AbortSignal,
): Promise<{ head: Buffer; stream: Readable }> {
  const parts: Buffer[] = [];
  let length = 0;
  let ended = false;
  const onEnd = () => {
    ended = true;
  };
  source.once('end', onEnd);
  try {
    while (length < n && !ended) {
      signal?.throwIfAborted();
      if (source.destroyed) throw source.errored ?? new Error('source stream was destroyed');
      const chunk: Buffer | string | null = source.read();
      if (chunk !== null) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
        parts.push(buf);
        length += buf.length;
        continue;
      }
      if (source.readableEnded) break;
      await new Promise<void>((resolve, reject) => {
        const cleanup = () => {
          source.off('readable', onReadable);
          source.off('end', onReadable);
          source.off('error', onError);
          signal?.removeEventListener('abort', onAbort);
        };
        const onReadable = () => {
          cleanup();
          resolve();
        };
        const onError = (err: Error) => {
          cleanup();
          reject(err);
        };
        const onAbort = () => {
          cleanup();
          reject(signal?.reason);
        };
        source.on('readable', onReadable);
        source.on('end', onReadable);
        source.on('error', onError);
        signal?.addEventListener('abort', onAbort);
      });
    }
  } finally {
    source.off('end', onEnd);
  }
  const head = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  // unshift after 'end' is silently dropped: a source shorter than the magic has ended,
  // so its few bytes go on in a stream of their own.
  if (ended || source.readableEnded) return { head, stream: Readable.from([head]) };
  if (head.length > 0) source.unshift(head);
  return { head, stream: source };
}

/** A chain of stages: its output, and how to fail it from outside (a source's error). */
interface Chain {
  out: Readable;
  fail(err: unknown, fromDecompressor: boolean): void;
}

/**
 * Wire `stages` (source first, when there is one) into one chain whose last stage is the
 * output. Unlike `stream.pipeline`, decompressor errors are turned into
 * {@link DecompressionError} before the consumer sees them, and a consumer that destroys
 * the output early tears down every stage without reporting that as an error upstream.
 */
function chain(
  source: Readable | undefined,
  stages: Duplex[],
  decompressor: Duplex | undefined,
  compression: Compression,
  signal?: AbortSignal,
): Chain {
  const all: (Readable | Duplex)[] = source ? [source, ...stages] : stages;
  const out = all[all.length - 1]!;
  let failed = false;
  const fail = (err: unknown, fromDecompressor: boolean) => {
    if (failed) return;
    failed = true;
    const wrapped =
      fromDecompressor && !isOcipeekError(err) && err instanceof Error
        ? new DecompressionError(compression, err.message, { cause: err })
        : (err as Error);
    for (const s of all) if (s !== out && !s.destroyed) s.destroy();
    if (!out.destroyed) out.destroy(wrapped);
  };
  for (let i = 0; i < all.length; i++) {
    const s = all[i]!;
    if (s !== out) s.on('error', (err) => fail(err, s === decompressor));
    const next = all[i + 1];
    if (next) s.pipe(next as Duplex);
  }
  out.once('close', () => {
    for (const s of all) if (s !== out && !s.destroyed) s.destroy();
  });
  if (signal) {
    const onAbort = () => fail(signal.reason, false);
    signal.addEventListener('abort', onAbort, { once: true });
    out.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return { out, fail };
}

/**
 * Turn a layer's bytes into its uncompressed tar stream.
 *
 * The first bytes are peeked and decide the format (gzip `1f 8b`, zstd `28 b5 2f fd`,
 * otherwise uncompressed); a media type that says otherwise is overruled, since the bytes
 * are what they are. gzip goes through `zlib.createGunzip()`, which also reads
 * concatenated members (eStargz layers are thousands of them); zstd is decompressed in
 * process (see {@link createZstdDecompressor}). Errors of the compressed data arrive on the
 * returned stream as {@link DecompressionError}, source errors unchanged.
 *
 * A source that offers {@link SinkSource.pipeTo} (a layout's or a registry's blob) is
 * read through it: its pieces go into the decompressor without a buffer per read.
 */
export function decompressStream(
  source: Readable | AsyncIterable<Uint8Array> | SinkSource,
  options: DecompressOptions = {},
): Promise<Readable> {
  return decompressIntoRooms(source, options, undefined);
}

/**
 * {@link decompressStream} whose output is decoded into reused `rooms`: with
 * {@link OutputRooms}, zstd output (libzstd's), each chunk given back with
 * `rooms.giveBack(chunk)` once the reader is done with it; with {@link GzipRooms} (of
 * `outputChunkBytes`), gzip output (node:zlib's), the reader telling `rooms.passed(piece)`
 * as it starts on each piece. Output of the other kind is the decoder's own.
 */
export async function decompressIntoRooms(
  source: Readable | AsyncIterable<Uint8Array> | SinkSource,
  options: DecompressOptions,
  rooms: OutputRooms | GzipRooms | undefined,
): Promise<Readable> {
  const { signal } = options;
  signal?.throwIfAborted();
  if (canPipeTo(source)) return decompressPieces(source, options, rooms);
  const input = source instanceof Readable ? source : Readable.from(source, { objectMode: false });
  let head: Buffer;
  let stream: Readable;
  try {
    ({ head, stream } = await peek(input, MAGIC_LENGTH, signal));
  } catch (err) {
    input.destroy();
    throw err;
  }
  const detected = detectCompression(head);
  const declared = options.mediaType ? compressionOfMediaType(options.mediaType) : undefined;
  options.onDetect?.(detected, declared);
  const { stages, decompressor } = stagesFor(detected, options, true, rooms);
  if (stages.length === 0 && !signal) return stream;
  return chain(stream, stages, decompressor, detected, signal).out;
}

/** The stages after the source for `detected` data: decompressor, then the size guard. */
function stagesFor(
  detected: Compression,
  options: DecompressOptions,
  coalesce: boolean,
  rooms: OutputRooms | GzipRooms | undefined,
): { stages: Duplex[]; decompressor: Duplex | undefined } {
  const stages: Duplex[] = [];
  let decompressor: Duplex | undefined;
  if (detected === 'gzip') {
    decompressor = gunzip(options.outputChunkBytes);
    if (rooms instanceof GzipRooms) rooms.install(decompressor);
    if (coalesce) stages.push(new Coalesce(GUNZIP_CHUNK));
    stages.push(decompressor);
  } else if (detected === 'zstd') {
    decompressor = createZstdDecompressor(rooms instanceof OutputRooms ? { rooms } : {});
    stages.push(decompressor);
  }
  if (options.maxOutputBytes !== undefined) {
    stages.push(new DecompressionLimit(options.maxOutputBytes, options.what));
  }
  return { stages, decompressor };
}

/**
 * {@link decompressStream} for a source that hands its bytes to a sink (a layout's blob
 * file: two reused 1 MiB read buffers; a registry blob: views of the connection's read
 * buffers). The pieces go into the decompressor through {@link PieceFeeder} without a
 * buffer per read.
 */
function decompressPieces(
  source: SinkSource,
  options: DecompressOptions,
  rooms: OutputRooms | GzipRooms | undefined,
): Promise<Readable> {
  const { signal } = options;
  return new Promise<Readable>((resolve, reject) => {
    let head: Buffer | undefined;
    let wired: { chain: Chain; feeder: PieceFeeder } | undefined;
    const wire = (bytes: Buffer): PieceFeeder => {
      const detected = detectCompression(bytes);
      const declared = options.mediaType ? compressionOfMediaType(options.mediaType) : undefined;
      options.onDetect?.(detected, declared);
      const { stages, decompressor } = stagesFor(detected, options, false, rooms);
      // Nothing to decompress and no guard: the pieces go out as they come (copied).
      if (stages.length === 0) stages.push(new PassThrough());
      const c = chain(undefined, stages, decompressor, detected, signal);
      const feeder = new PieceFeeder(stages[0]!, decompressor !== undefined);
      wired = { chain: c, feeder };
      resolve(c.out);
      return feeder;
    };
    const sink = (piece: Buffer): Promise<void> | undefined => {
      if (wired !== undefined) return wired.feeder.feed(piece);
      // The first bytes decide the format; a source that starts with tiny pieces is
      // gathered (a copy) until there are enough.
      const bytes = head ? Buffer.concat([head, piece]) : piece;
      if (bytes.length < MAGIC_LENGTH) {
        head = Buffer.from(bytes);
        return undefined;
      }
      head = undefined;
      return wire(bytes).feed(bytes);
    };
    source
      .pipeTo(sink)
      .then(async () => {
        let feeder = wired?.feeder;
        if (feeder === undefined) {
          feeder = wire(head ?? Buffer.alloc(0));
          if (head) await feeder.feed(head);
        }
        await feeder.end();
      })
      .catch((err: unknown) => {
        if (wired) wired.chain.fail(err, false);
        else reject(err);
      });
  });
}

/** Pieces smaller than this are gathered before they go into a decompressor. */
const GATHER_BYTES = GUNZIP_CHUNK;

/**
 * Feeds pieces a sink was given into the first stage of a chain, holding each only until
 * the stage is done with it. A decompressor's write callback fires once its input is used
 * up (zlib's, and ours for zstd), so a piece of 1 MiB or more goes in as it is and its
 * memory is free again at that callback. Smaller pieces (the network's) are copied into
 * one of two reused 1 MiB buffers and go in when it is full, as {@link Coalesce} gathers
 * a stream's chunks: every zlib call is a round trip to the thread pool. A stage that is
 * not a decompressor keeps what it is given, so it gets a copy of each piece.
 */
class PieceFeeder {
  private readonly gather: Buffer[] = [];
  private readonly inStage: Array<Promise<void> | undefined> = [undefined, undefined];
  private current = 0;
  private filled = 0;
  /** A piece waiting for a gathering buffer: later pieces go in after it, in order. */
  private blocked: Promise<void> | undefined;

  constructor(
    private readonly stage: Writable,
    private readonly decompresses: boolean,
  ) {}

  /** Take `piece`; the returned promise (if any) settles once `piece` may be reused. */
  feed(piece: Buffer): Promise<void> | undefined {
    // A source may hand on its next piece before the last one's promise settled.
    if (this.blocked) return this.block(this.blocked.then(() => this.take(piece)));
    const waiting = this.take(piece);
    return waiting && this.block(waiting);
  }

  /** Hand on what is gathered, wait until the stage took everything, then end it. */
  async end(): Promise<void> {
    await this.blocked;
    if (this.filled > 0) this.handOn();
    await Promise.all(this.inStage);
    this.stage.end();
  }

  private take(piece: Buffer): Promise<void> | undefined {
    if (!this.decompresses) return this.write(Buffer.from(piece));
    if (this.filled === 0 && piece.length >= GATHER_BYTES) return this.write(piece);
    return this.copyIn(piece, 0);
  }

  private block(waiting: Promise<void>): Promise<void> {
    this.blocked = waiting;
    waiting.then(
      () => {
        if (this.blocked === waiting) this.blocked = undefined;
      },
      () => {},
    );
    return waiting;
  }

  private copyIn(piece: Buffer, from: number): Promise<void> | undefined {
    let at = from;
    while (at < piece.length) {
      const busy = this.inStage[this.current];
      if (busy) return busy.then(() => this.copyIn(piece, at));
      this.gather[this.current] ??= Buffer.allocUnsafeSlow(GATHER_BYTES);
      const n = piece.copy(this.gather[this.current]!, this.filled, at);
      this.filled += n;
      at += n;
      if (this.filled === GATHER_BYTES) this.handOn();
    }
    return undefined;
  }

  /** The gathered bytes go into the stage; the next buffer is filled meanwhile. */
  private handOn(): void {
    const at = this.current;
    const done = this.write(this.gather[at]!.subarray(0, this.filled));
    this.inStage[at] = done;
    // Failures reach the caller through the next piece or end(); handled here meanwhile.
    done.then(
      () => {
        if (this.inStage[at] === done) this.inStage[at] = undefined;
      },
      () => {},
    );
    this.current ^= 1;
    this.filled = 0;
  }

  /** Settles once the stage is done with `bytes` (or was closed: then with its error). */
  private write(bytes: Buffer): Promise<void> {
    const stage = this.stage;
    return new Promise((resolve, reject) => {
      const closed = () => stage.errored ?? new Error('the decompressor was closed');
      if (stage.destroyed) {
        reject(closed());
        return;
      }
      // A stage destroyed meanwhile may never call back: its close settles the write.
      const onClose = () => reject(closed());
      stage.once('close', onClose);
      stage.write(bytes, (err) => {
        stage.off('close', onClose);
        if (err) reject(err);
        else resolve();
      });
    });
  }
}
