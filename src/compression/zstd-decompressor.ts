import { Duplex } from 'node:stream';
import type { ZlibOptions } from 'node:zlib';
import { DecompressionError, isOcipeekError, UnsupportedError } from '../errors/index.js';
import { LibzstdDecoder, type ZstdStep } from '../native/libzstd.js';
import { zlib } from '../node/lazy-builtins.js';
import type { OutputRooms } from './output-rooms.js';
import { withDecompressionErrors } from './zlib-errors.js';
import { JsZstdDecoder } from './zstd-js-decoder.js';

/*
 * zstd is decompressed in process, by the first of these that works here:
 * 1. Node's own `zlib.createZstdDecompress` (Node ≥ 22.15 / 23.8; Node 20 has none);
 * 2. the system's libzstd through koffi (native/libzstd.ts): as fast as the `zstd -dc`
 *    program this replaces (1.1-1.3 GB/s out here), off the main thread;
 * 3. fzstd, pure JavaScript (zstd-js-decoder.ts): ~6x slower, for systems without
 *    libzstd.so.1 or without a koffi binary.
 * All stream with bounded memory (one step's output, 1 MiB, at a time, and no more while
 * the reader is behind), read multi-frame data and skip skippable frames (zstd:chunked),
 * and fail with a DecompressionError on corrupt or truncated input.
 */

/** Which decoder decompresses zstd. */
export type ZstdDecoderKind = 'node' | 'libzstd' | 'js';

/** Options for {@link createZstdDecompressor}. */
export interface ZstdDecompressorOptions {
  /** Force a decoder (tests, measurements); default: the first available, see above. */
  decoder?: ZstdDecoderKind;
  /**
   * Rooms libzstd decodes into, reused once the reader gives each chunk back (see
   * {@link OutputRooms}); the other decoders allocate their own output.
   */
  rooms?: OutputRooms;
}

/** One zstd decoder working in bounded steps (libzstd's or the JavaScript one). */
interface ZstdStepDecoder {
  /** Decode from the start of `input`; at most about 1 MiB of output per step. */
  step(input: Buffer): Promise<ZstdStep>;
  /** The input ended: a DecompressionError when it ended inside a frame. */
  finish(): void;
  free(): void;
}

type NodeZstd = (options?: ZlibOptions) => Duplex;

/** Node's zstd decompressor, when this Node has one (not in Node 20's type definitions). */
const nodeZstd = (): NodeZstd | undefined =>
  (zlib() as unknown as { createZstdDecompress?: NodeZstd }).createZstdDecompress;

let chosen: ZstdDecoderKind | undefined;

/** The decoder {@link createZstdDecompressor} uses by default here (decided once). */
export function defaultZstdDecoder(): ZstdDecoderKind {
  if (chosen) return chosen;
  if (nodeZstd()) chosen = 'node';
  else {
    try {
      new LibzstdDecoder().free();
      chosen = 'libzstd';
    } catch {
      chosen = 'js';
    }
  }
  return chosen;
}

/**
 * A zstd decompressor as a duplex stream: compressed bytes in, decompressed bytes out.
 * Errors of the data are {@link DecompressionError}s; an unavailable forced decoder is an
 * {@link UnsupportedError}, thrown here.
 */
export function createZstdDecompressor(options: ZstdDecompressorOptions = {}): Duplex {
  const kind = options.decoder ?? defaultZstdDecoder();
  if (kind === 'node') {
    const create = nodeZstd();
    if (!create) throw new UnsupportedError(`Node ${process.version} has no zlib zstd decoder`);
    return withDecompressionErrors(create({ chunkSize: 1024 * 1024 }), 'zstd');
  }
  return new ZstdStream(
    kind === 'libzstd' ? new LibzstdDecoder(options.rooms) : new JsZstdDecoder(),
  );
}

/** A write waiting to be decoded: its bytes, how far they are used, and its callback. */
interface PendingInput {
  input: Buffer;
  offset: number;
  done: (err?: Error | null) => void;
}

const NO_INPUT = Buffer.alloc(0);

/**
 * A duplex over a step decoder. One step runs at a time; a step starts only while the
 * readable side wants data, so a fast decoder never fills memory ahead of a slow reader,
 * and a write's callback fires once its bytes are used (backpressure upstream).
 */
class ZstdStream extends Duplex {
  private pending: PendingInput | undefined;
  private finalDone: ((err?: Error | null) => void) | undefined;
  /** The last step filled its output room: more may come without input. */
  private more = false;
  private running = false;
  private readerFull = false;

  constructor(private readonly decoder: ZstdStepDecoder) {
    // Two steps of output may wait for the reader, so the next step overlaps its reading.
    super({ readableHighWaterMark: 2 * 1024 * 1024 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.pending = { input: chunk, offset: 0, done };
    this.pump();
  }

  /** Writes buffered while a step ran go in together: tiny chunks make no tiny steps. */
  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    this.pending = { input: Buffer.concat(chunks.map((c) => c.chunk)), offset: 0, done };
    this.pump();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.finalDone = done;
    this.pump();
  }

  override _read(): void {
    this.readerFull = false;
    this.pump();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.decoder.free();
    done(err);
  }

  private pump(): void {
    if (this.running || this.destroyed) return;
    this.running = true;
    void this.run();
  }

  /** Hand back writes whose bytes are used up (their callbacks bring the next input). */
  private releaseUsed(): void {
    for (let p = this.pending; p && p.offset >= p.input.length && !this.more; p = this.pending) {
      this.pending = undefined;
      p.done(); // may call _write at once, which leaves the new input to the running loop
    }
  }

  /** Start a step when there is input, or output held back; else undefined. */
  private nextStep(): { input?: PendingInput; result: Promise<ZstdStep> } | undefined {
    const p = this.pending;
    const hasInput = p !== undefined && p.offset < p.input.length;
    if (this.destroyed || (!hasInput && !this.more)) return undefined;
    const input = hasInput ? p.input.subarray(p.offset) : NO_INPUT;
    return { ...(p ? { input: p } : {}), result: this.decoder.step(input) };
  }

  /**
   * Step while there is input (or held output) and the reader wants more. The next step
   * starts before a step's output is pushed, since pushing may run the reader (tar
   * parsing) at once: decoding on the worker thread then overlaps it, as the separate
   * `zstd` process did. `running` is cleared in the same synchronous stretch as the last
   * check (never after an await), so a write or read arriving later starts a new run.
   */
  private async run(): Promise<void> {
    try {
      this.releaseUsed();
      let step = this.readerFull ? undefined : this.nextStep();
      while (step) {
        const { consumed, output, more } = await step.result;
        if (this.destroyed) break;
        if (step.input) step.input.offset += consumed;
        this.more = more;
        this.releaseUsed();
        step = this.readerFull ? undefined : this.nextStep();
        if (output.length > 0 && !this.push(output)) this.readerFull = true;
      }
      if (!this.destroyed && !this.readerFull && !this.pending && !this.more && this.finalDone) {
        const done = this.finalDone;
        this.finalDone = undefined;
        this.decoder.finish();
        this.push(null);
        done();
      }
      this.running = false;
    } catch (err) {
      this.running = false;
      const error =
        isOcipeekError(err) || !(err instanceof Error)
          ? (err as Error)
          : new DecompressionError('zstd', err.message, { cause: err });
      this.destroy(error);
    }
  }
}
