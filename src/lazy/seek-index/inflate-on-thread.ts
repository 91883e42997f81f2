import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { DecompressionError } from '../../errors/index.js';
import { startWorker } from '../../node/start-worker.js';
import type { LayerIndexerOptions, LayerPass } from './layer-indexer.js';
import { C, type PieceHashShared, RING_BYTES } from './piece-hash-layout.js';
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
 * Input goes to the inflate thread as messages it takes synchronously
 * (receiveMessageOnPort) when it needs them, at most INPUT_AHEAD bytes ahead; shared
 * counters (piece-hash-layout.ts) say how far each side is, and a side that must wait
 * waits on them: the threads with Atomics.wait, the main thread with Atomics.waitAsync,
 * so its event loop keeps reading the layer.
 */

/** Compressed bytes posted to the inflate thread and not yet taken, at most. */
const INPUT_AHEAD = 4 * 1024 * 1024;

/** Output handed to the tar scan at once, at most: its room is given back after it. */
const SCAN_PIECE = 512 * 1024;

/** How often a waiting main thread looks whether a thread ended without a word (ms). */
const RECHECK_MS = 1000;

/** Atomics.waitAsync (ES2024; Node has it, this project's TypeScript lib does not name it). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      array: Int32Array,
      index: number,
      value: number,
      timeoutMs: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

/** What the inflate thread is started with. */
export interface InflateThreadData {
  shared: PieceHashShared;
  port: MessagePort;
  digest: string;
  options: Omit<LayerIndexerOptions, 'check' | 'onBlockBoundary'>;
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
  options: InflateThreadData['options'],
  scan: (tar: AsyncIterable<Uint8Array>) => Promise<void>,
  signal?: AbortSignal,
): Promise<{ pass: LayerPass; done: PiecesDone }> {
  const shared = newPieceHashShared(false);
  const control = new Int32Array(shared.control);
  const ring = new Uint8Array(shared.ring);
  const hashing = startPieceHashThread(shared);
  const channel = new MessageChannel();
  let inflating: Worker | undefined;
  /** Set when the pump failed or the inflate thread ended: a waiting main thread stops. */
  let stopped: { error: unknown } | undefined;
  const wake = () => Atomics.notify(control, C.SEQ);
  try {
    const data: InflateThreadData = { shared, port: channel.port2, digest, options };
    inflating = startWorker(import.meta.url, 'inflate-index-worker', data, [channel.port2]);
    const worker = inflating;
    const reply = new Promise<InflateThreadReply>((resolve) => {
      worker.once('message', resolve);
      worker.once('error', (err) => resolve({ error: err.message }));
      worker.once('exit', (code) => resolve({ error: `the inflate thread exited (${code})` }));
    });
    void reply.then(() => {
      stopped ??= { error: undefined };
      wake();
    });
    const pumping = pump(compressed, channel.port1, control, () => stopped !== undefined, signal);
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
        Atomics.store(control, C.SCANNING, 1);
        const seq = Atomics.load(control, C.SEQ);
        if (Atomics.load(control, C.WRITTEN) === scanned && Atomics.load(control, C.DONE) === 0) {
          const w = waitAsync(control, C.SEQ, seq, RECHECK_MS);
          if (w.async) await w.value;
        }
        Atomics.store(control, C.SCANNING, 0);
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
    stopped ??= { error: undefined };
    channel.port1.close();
    void inflating?.terminate();
    void hashing.worker.terminate();
  }
}

/**
 * Post the layer's compressed chunks to the inflate thread (each copied into a buffer of
 * its own, transferred), then null for its end, keeping at most INPUT_AHEAD bytes
 * untaken. Stops early once `stopped()` (the thread ended or the build failed).
 */
async function pump(
  compressed: AsyncIterable<Uint8Array>,
  port: MessagePort,
  control: Int32Array,
  stopped: () => boolean,
  signal?: AbortSignal,
): Promise<void> {
  /** Bytes posted before each message, and in all. */
  const before: number[] = [];
  let bytes = 0;
  const post = (chunk: Uint8Array | null) => {
    if (chunk) port.postMessage(chunk, [chunk.buffer as ArrayBuffer]);
    else port.postMessage(null);
    before.push(bytes);
    bytes += chunk?.length ?? 0;
    Atomics.store(control, C.INPUT_POSTED, before.length);
    Atomics.notify(control, C.INPUT_POSTED);
  };
  for await (const chunk of compressed) {
    signal?.throwIfAborted();
    if (stopped()) return;
    if (chunk.length === 0) continue;
    post(new Uint8Array(chunk));
    for (;;) {
      const taken = Atomics.load(control, C.INPUT_TAKEN);
      const untaken = taken >= before.length ? 0 : bytes - before[taken]!;
      if (untaken <= INPUT_AHEAD || stopped()) break;
      const w = waitAsync(control, C.INPUT_TAKEN, taken, RECHECK_MS);
      if (w.async) await w.value;
    }
  }
  post(null);
}
