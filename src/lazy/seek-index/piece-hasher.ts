import { createHash } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../node/start-worker.js';
import {
  C,
  CONTROL_SLOTS,
  CUT_SLOTS,
  type PieceHashReply,
  type PieceHashShared,
  RING_BYTES,
} from './piece-hash-layout.js';

/*
 * Why a thread: building a seek index inflates on the main thread (zlib through koffi, to
 * stop at every block) and hashes every byte of the output for the piece digests, while a
 * listing has its inflate done on the thread pool by node:zlib. On the bench's 1 GiB layer
 * the piece digests were about a fifth of the build's CPU and the build was bound by them
 * (bench/ANALYSIS.md): here they run on a second core. The output is copied into a shared
 * ring (a memcpy is several times cheaper than sha256) and piece ends are published through
 * shared counters, not messages: a layer has tens of thousands of pieces and block
 * boundaries, and a message each would cost more than the hashing saved.
 */

/** How long the main thread waits for room in the ring before it calls the thread stuck. */
const STALL_MS = 120_000;

/** Bytes written between wake-ups of a waiting thread, at least (the ring holds 8 MiB). */
const WAKE_BYTES = 1024 * 1024;

/** The sha256 digests of consecutive pieces of a stream (see {@link PieceHasher}). */
export interface PieceDigests {
  /** Hash `bytes` next (the caller may reuse its buffer at once). */
  update(bytes: Uint8Array): void;
  /** A piece ends after the bytes given so far. */
  cut(): void;
  /** Every piece's digest, in order (the bytes after the last cut belong to none). */
  finish(): Promise<string[]>;
  /** Release what it holds (also after a failure). */
  close(): void;
}

/** {@link PieceDigests} on the calling thread: for small layers, where a thread costs more. */
export class InlinePieceHasher implements PieceDigests {
  private hash = createHash('sha256');
  private readonly digests: string[] = [];

  update(bytes: Uint8Array): void {
    this.hash.update(bytes);
  }

  cut(): void {
    this.digests.push(`sha256:${this.hash.digest('hex')}`);
    this.hash = createHash('sha256');
  }

  async finish(): Promise<string[]> {
    return this.digests;
  }

  close(): void {}
}

/**
 * The sha256 digests of consecutive pieces of a stream, computed on a thread of their own:
 * {@link PieceHasher.update} with the bytes, {@link PieceHasher.cut} where a piece ends,
 * {@link PieceHasher.finish} for every piece's digest in order. Call
 * {@link PieceHasher.close} when done (also after a failure).
 */
export class PieceHasher implements PieceDigests {
  private readonly control: Int32Array;
  private readonly ring: Uint8Array;
  private readonly cuts: Int32Array;
  private readonly worker: Worker;
  private readonly reply: Promise<PieceHashReply>;
  private written = 0;
  /** WRITTEN when the thread was last woken. */
  private wokenAt = 0;
  private cutCount = 0;

  constructor() {
    const shared: PieceHashShared = {
      control: new SharedArrayBuffer(CONTROL_SLOTS * 4),
      ring: new SharedArrayBuffer(RING_BYTES),
      cuts: new SharedArrayBuffer(CUT_SLOTS * 4),
    };
    this.control = new Int32Array(shared.control);
    this.ring = new Uint8Array(shared.ring);
    this.cuts = new Int32Array(shared.cuts);
    this.worker = startWorker(import.meta.url, 'piece-hash-worker', shared);
    this.reply = new Promise((resolve) => {
      this.worker.once('message', resolve);
      this.worker.once('error', (err) => resolve({ error: err.message }));
      this.worker.once('exit', (code) => resolve({ error: `the hashing thread exited (${code})` }));
    });
  }

  /** Hash `bytes` next (copied: the caller may reuse its buffer at once). */
  update(bytes: Uint8Array): void {
    let from = 0;
    while (from < bytes.length) {
      const free = this.whenRoom(
        () => RING_BYTES - ((this.written - Atomics.load(this.control, C.HASHED)) >>> 0),
      );
      const at = (this.written >>> 0) % RING_BYTES;
      const n = Math.min(bytes.length - from, free, RING_BYTES - at);
      this.ring.set(bytes.subarray(from, from + n), at);
      from += n;
      this.written = (this.written + n) | 0;
      Atomics.store(this.control, C.WRITTEN, this.written);
      this.publish();
    }
  }

  /** A piece ends after the bytes given so far. */
  cut(): void {
    this.whenRoom(
      () => CUT_SLOTS - ((this.cutCount - Atomics.load(this.control, C.DIGESTED)) >>> 0),
    );
    this.cuts[(this.cutCount >>> 0) % CUT_SLOTS] = this.written;
    this.cutCount = (this.cutCount + 1) | 0;
    Atomics.store(this.control, C.CUTS, this.cutCount);
    this.publish();
  }

  /** Every piece's digest, in order (the bytes after the last cut belong to none). */
  async finish(): Promise<string[]> {
    Atomics.store(this.control, C.DONE, 1);
    this.publish(true);
    const reply = await this.reply;
    if ('error' in reply) throw new Error(`hashing the pieces failed: ${reply.error}`);
    return reply.digests;
  }

  /** Stop the thread (it ends by itself after {@link PieceHasher.finish}). */
  close(): void {
    void this.worker.terminate();
  }

  /**
   * Tell the thread what was written: SEQ always moves (a thread about to wait sees it and
   * goes on), a waiting thread is woken once WAKE_BYTES more are written or when `now`:
   * waking it for every block's few KiB cost a system call and a context switch each, more
   * than the hashing it moved (measured: 1.5 s of the 1 GiB layer's main thread). See the
   * thread's side for why a wake cannot be missed.
   */
  private publish(now = false): void {
    Atomics.add(this.control, C.SEQ, 1);
    if (!now && (this.written - this.wokenAt) >>> 0 < WAKE_BYTES) return;
    if (Atomics.load(this.control, C.SLEEPING) === 1) Atomics.notify(this.control, C.SEQ);
    this.wokenAt = this.written;
  }

  /**
   * `room()` once it is more than 0, blocking until the thread frees some: the main thread
   * has nothing else to do then. PROGRESS is read before the room, so progress made after
   * that read changes it and the wait returns at once.
   */
  private whenRoom(room: () => number): number {
    for (;;) {
      const progress = Atomics.load(this.control, C.PROGRESS);
      const n = room();
      if (n > 0) return n;
      this.publish(true);
      if (Atomics.wait(this.control, C.PROGRESS, progress, STALL_MS) === 'timed-out') {
        throw new Error(`the piece hashing thread made no progress in ${STALL_MS / 1000} s`);
      }
    }
  }
}
