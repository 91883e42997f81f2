import type { Worker } from 'node:worker_threads';
import { DecompressionError } from '../../errors/index.js';
import { startWorker } from '../../node/start-worker.js';
import type { LayerIndexerOptions, LayerPass } from './layer-indexer.js';
import {
  C,
  INPUT_RING_BYTES,
  type PieceHashShared,
  RING_BYTES,
  WAKE,
} from './piece-hash-layout.js';
import {
  newPieceHashShared,
  type PiecesDone,
  piecesDone,
  startPieceHashThread,
} from './piece-hasher.js';

/*
 * Why the inflate runs on a thread: a listing (`ls -R` without an index) has node:zlib
 * inflate on the thread pool and scans the tar on the main thread; the build inflated on
 * the main thread (zlib through koffi, stopping at every block, which node:zlib cannot),
 * the largest part of the gap between the two (bench/ANALYSIS.md). So here, as in the
 * listing, the main thread reads the layer (its digest checked as it streams) and scans
 * the tar; an inflate thread (inflate-index-worker.ts) runs the pass (LayerIndexer) and
 * writes the output into the piece hashing ring, which the hashing thread
 * (piece-hash-worker.ts) hashes and packs windows from, and the main thread scans: the
 * output is copied once, on the inflate thread, and read in place by both. zlib checks each
 * member's CRC-32 on the inflate thread (as the listing's does on the pool), which keeps
 * the hashing thread, the busiest on incompressible layers, to the digests.
 *
 * The compressed bytes go to the inflate thread through a shared ring of their own
 * (INPUT_RING_BYTES): as messages, each chunk was garbage on the thread, which allocates
 * so little that it never collected them (peak RSS +60 MB on debian). Shared counters
 * (piece-hash-layout.ts) say how far each side is, and a side that must wait waits on
 * them: the threads with Atomics.wait; the main thread, whose event loop keeps reading
 * the layer meanwhile, says so in a flag and the inflate thread wakes it by a message
 * (see WAKE for why not Atomics.waitAsync).
 */

/** Output handed to the tar scan at once, at most: its room is given back after it. */
const SCAN_PIECE = 512 * 1024;

/**
 * The main thread's waits: each {@link Wakes.next} resolves at the inflate thread's next
 * WAKE message (it sends one when SCANNING or INPUT_WAITING says the main thread waits),
 * or when the build stops (the thread replied or ended, the input failed, an abort).
 */
class Wakes {
  private waiting: Array<() => void> = [];

  next(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  wakeAll(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}

/** What the inflate thread is started with. */
export interface InflateThreadData {
  shared: PieceHashShared;
  /** The input ring (INPUT_RING_BYTES). */
  input: SharedArrayBuffer;
}

/** The layer an inflate thread is given, once it is known (its one message). */
export interface InflateThreadJob {
  digest: string;
  options: Omit<LayerIndexerOptions, 'check' | 'onBlockBoundary'>;
}

/** An inflate thread and a hashing thread on their shared memory, waiting for a layer. */
interface LayerThreads {
  shared: PieceHashShared;
  input: SharedArrayBuffer;
  inflating: Worker;
  /** The inflate thread's reply (or its failure to start or run). */
  reply: Promise<InflateThreadReply>;
  /** Resolved by the inflate thread's WAKE messages. */
  wakes: Wakes;
  hashing: ReturnType<typeof startPieceHashThread>;
}

function startLayerThreads(): LayerThreads {
  const shared = newPieceHashShared(false);
  const input = new SharedArrayBuffer(INPUT_RING_BYTES);
  const hashing = startPieceHashThread(shared);
  const data: InflateThreadData = { shared, input };
  const inflating = startWorker(import.meta.url, 'inflate-index-worker', data);
  const wakes = new Wakes();
  const reply = new Promise<InflateThreadReply>((resolve) => {
    inflating.on('message', (m: typeof WAKE | InflateThreadReply) =>
      m === WAKE ? wakes.wakeAll() : resolve(m),
    );
    inflating.once('error', (err) => resolve({ error: err.message }));
    inflating.once('exit', (code) => resolve({ error: `the inflate thread exited (${code})` }));
  });
  return { shared, input, inflating, reply, wakes, hashing };
}

/** Threads started ahead of their layer ({@link warmSeekIndexThreads}), taken in order. */
const warm: LayerThreads[] = [];

/**
 * Start the threads of `count` layers' seek index builds now, before the layers are
 * known: a thread takes 35-50 ms to start (Node's bootstrap, the module, koffi), which
 * the build's first output otherwise waits for, while opening the image does not use them.
 * The threads do not keep the process alive until a build takes them; `ocipeek index`
 * starts one pair as it begins (a layer under 16 MiB, which is indexed inline, leaves them
 * unused: about 0.1 s of CPU on the other core).
 */
export function warmSeekIndexThreads(count = 1): void {
  while (warm.length < count) {
    const threads = startLayerThreads();
    threads.inflating.unref();
    threads.hashing.worker.unref();
    // Never taken: nothing to report, but nothing unhandled either.
    void threads.reply;
    warm.push(threads);
  }
}

/** The inflate thread's reply: its pass, or why it failed (a gzip problem or another). */
export type InflateThreadReply =
  | { pass: LayerPass }
  | { decompression: string }
  | { error: string };

/**
 * The seek index pass of one layer with the inflate on a thread of its own and the piece
 * digests on another: `scan` is given the layer's tar, in pieces read in place from the
 * shared ring (each valid until the scan asks for the one after the next), and must read
 * it to its end. Resolves to the pass and the hashing thread's digests and windows; a
 * gzip problem rejects with the {@link DecompressionError} the inline pass gives.
 */
export async function inflateOnThread(
  compressed: AsyncIterable<Uint8Array>,
  digest: string,
  options: InflateThreadJob['options'],
  scan: (tar: AsyncIterable<Uint8Array>) => Promise<void>,
  signal?: AbortSignal,
): Promise<{ pass: LayerPass; done: PiecesDone }> {
  const threads = warm.shift() ?? startLayerThreads();
  threads.inflating.ref();
  threads.hashing.worker.ref();
  const { shared, input, inflating, reply, wakes, hashing } = threads;
  const control = new Int32Array(shared.control);
  const ring = new Uint8Array(shared.ring);
  /** Set when the pump failed or the inflate thread ended: a waiting main thread stops. */
  let stopped: { error: unknown } | undefined;
  const wake = () => wakes.wakeAll();
  signal?.addEventListener('abort', wake);
  try {
    const job: InflateThreadJob = { digest, options };
    inflating.postMessage(job);
    void reply.then(() => {
      stopped ??= { error: undefined };
      wake();
    });
    const pumping = pump(
      compressed,
      new Uint8Array(input),
      control,
      wakes,
      () => stopped !== undefined,
      signal,
    );
    pumping.catch((error: unknown) => {
      stopped = { error };
      wake();
    });
    /** The pass's failure as the inline pass gives it. */
    const failure = async (): Promise<Error> => {
      const r = await reply;
      if ('decompression' in r) return new DecompressionError('gzip', r.decompression);
      return new Error(`inflating the layer failed: ${'error' in r ? r.error : 'no pass'}`);
    };
    async function* tar(): AsyncGenerator<Uint8Array> {
      let scanned = 0;
      const release = (upTo: number) => {
        Atomics.store(control, C.SCANNED, upTo);
        Atomics.add(control, C.PROGRESS, 1);
        Atomics.notify(control, C.PROGRESS);
      };
      for (;;) {
        const written = Atomics.load(control, C.WRITTEN);
        if (written !== scanned) {
          // The piece handed on before this one is read: its room is free.
          release(scanned);
          const from = (scanned >>> 0) % RING_BYTES;
          const n = Math.min((written - scanned) >>> 0, RING_BYTES - from, SCAN_PIECE);
          scanned = (scanned + n) | 0;
          yield ring.subarray(from, from + n);
          continue;
        }
        release(scanned);
        if (Atomics.load(control, C.FAILED) === 1) throw await failure();
        if (stopped?.error !== undefined) throw stopped.error;
        // DONE is set after the last WRITTEN: read in this order, nothing is left behind.
        if (Atomics.load(control, C.DONE) === 1 && Atomics.load(control, C.WRITTEN) === scanned) {
          return;
        }
        if (stopped) throw await failure();
        // Said before looking again: the writer reads SCANNING after it moves WRITTEN.
        Atomics.store(control, C.SCANNING, 1);
        const woken = wakes.next();
        if (Atomics.load(control, C.WRITTEN) === scanned && Atomics.load(control, C.DONE) === 0) {
          await woken;
        }
        Atomics.store(control, C.SCANNING, 0);
        signal?.throwIfAborted();
      }
    }
    await scan(tar());
    await pumping;
    const r = await reply;
    if (!('pass' in r)) throw await failure();
    const done = await piecesDone(hashing.reply);
    const pass = r.pass;
    // Structured cloning made the empty windows of member checkpoints plain Uint8Arrays.
    for (const s of pass.spans) {
      const w = s.record.window;
      s.record.window = Buffer.from(w.buffer, w.byteOffset, w.length);
    }
    return { pass, done };
  } finally {
    signal?.removeEventListener('abort', wake);
    stopped ??= { error: undefined };
    void inflating.terminate();
    void hashing.worker.terminate();
  }
}

/**
 * Copy the layer's compressed bytes into the inflate thread's input ring (waiting for room
 * while it is full), then mark the input's end. Stops early once `stopped()` (the thread
 * ended or the build failed).
 */
async function pump(
  compressed: AsyncIterable<Uint8Array>,
  input: Uint8Array,
  control: Int32Array,
  wakes: Wakes,
  stopped: () => boolean,
  signal?: AbortSignal,
): Promise<void> {
  let written = 0;
  for await (const chunk of compressed) {
    signal?.throwIfAborted();
    let from = 0;
    while (from < chunk.length) {
      if (stopped()) return;
      const read = Atomics.load(control, C.INPUT_READ);
      const free = INPUT_RING_BYTES - ((written - read) >>> 0);
      if (free <= 0) {
        // Said before looking again: the thread reads INPUT_WAITING after it moves INPUT_READ.
        Atomics.store(control, C.INPUT_WAITING, 1);
        const woken = wakes.next();
        if (Atomics.load(control, C.INPUT_READ) === read) await woken;
        Atomics.store(control, C.INPUT_WAITING, 0);
        signal?.throwIfAborted();
        continue;
      }
      const at = (written >>> 0) % INPUT_RING_BYTES;
      const n = Math.min(chunk.length - from, free, INPUT_RING_BYTES - at);
      input.set(chunk.subarray(from, from + n), at);
      from += n;
      written = (written + n) | 0;
      Atomics.store(control, C.INPUT_WRITTEN, written);
      Atomics.notify(control, C.INPUT_WRITTEN);
    }
  }
  Atomics.store(control, C.INPUT_END, 1);
  Atomics.notify(control, C.INPUT_WRITTEN);
}
