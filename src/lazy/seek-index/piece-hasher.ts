import { createHash } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { startWorker } from '../../node/start-worker.js';
import { packWindow } from './pack-window.js';
import {
  C,
  CONTROL_SLOTS,
  CUT_SLOTS,
  type PieceHashReply,
  type PieceHashShared,
  RING_BYTES,
  WINDOW_FIELDS,
  WINDOW_KEEP,
  WINDOW_SLOTS,
  WindowKind,
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
 *
 * The checkpoints' windows are packed there too (pack-window.ts): each is the 32 KiB of
 * output before its checkpoint, which the ring holds anyway, and deflating them was the
 * largest part of the debian build's main thread after the inflate itself (~190 of 1,470
 * samples, bench/ANALYSIS.md), on a thread that hashing keeps busy for a fifth of the time.
 * So are the gzip members' CRC-32s when asked (`crc`): zlib computes them as it inflates,
 * on the main thread, 8-15% of its samples (the most on the 1 GiB layer); the builder
 * then has zlib leave them out and compares these with the trailers.
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
  /**
   * A checkpoint's window is the last `length` bytes given so far (at most 32 KiB, never
   * more than were given): pack it (pack-window.ts) and give it back, in order, from
   * {@link PieceDigests.finish}. `bytes` gives them (a copy) for a hasher that does not
   * keep them.
   */
  window(length: number, incompressible: boolean, bytes: () => Uint8Array): void;
  /**
   * A gzip member's output ends after the bytes given so far: with `crc` asked, its CRC-32
   * (of the bytes since the last member's end) is given back from
   * {@link PieceDigests.finish}.
   */
  memberEnd(): void;
  /**
   * Every piece's digest, every window packed and every member's CRC-32 (with `crc`), in
   * order (the bytes after the last cut belong to no piece).
   */
  finish(): Promise<PiecesDone>;
  /** Release what it holds (also after a failure). */
  close(): void;
}

/** What {@link PieceDigests.finish} gives: digests, windows and member CRC-32s, each in order. */
export interface PiecesDone {
  digests: string[];
  windows: Uint8Array[];
  members: number[];
}

/** {@link PieceDigests} on the calling thread: for small layers, where a thread costs more. */
export class InlinePieceHasher implements PieceDigests {
  private hash = createHash('sha256');
  private readonly digests: string[] = [];
  private readonly windows: Uint8Array[] = [];
  private readonly members: number[] = [];
  private memberCrc = 0;

  /** `crc`: compute each member's CRC-32 ({@link PieceDigests.memberEnd}). */
  constructor(private readonly crc = false) {}

  update(bytes: Uint8Array): void {
    this.hash.update(bytes);
    if (this.crc) this.memberCrc = crc32(bytes, this.memberCrc);
  }

  memberEnd(): void {
    this.members.push(this.memberCrc);
    this.memberCrc = 0;
  }

  cut(): void {
    this.digests.push(`sha256:${this.hash.digest('hex')}`);
    this.hash = createHash('sha256');
  }

  window(_length: number, incompressible: boolean, bytes: () => Uint8Array): void {
    this.windows.push(packWindow(bytes(), incompressible));
  }

  async finish(): Promise<PiecesDone> {
    return { digests: this.digests, windows: this.windows, members: this.members };
  }

  close(): void {}
}

/**
 * The sha256 digests of consecutive pieces of a stream, computed on a thread of their own:
 * {@link PieceHasher.update} with the bytes, {@link PieceHasher.cut} where a piece ends,
 * {@link PieceHasher.window} where a checkpoint's window is to be packed,
 * {@link PieceHasher.finish} for every piece's digest and window in order. Call
 * {@link PieceHasher.close} when done (also after a failure).
 */
export class PieceHasher implements PieceDigests {
  private readonly control: Int32Array;
  private readonly ring: Uint8Array;
  private readonly cuts: Int32Array;
  private readonly windowSlots: Int32Array;
  private readonly worker: Worker;
  private readonly reply: Promise<PieceHashReply>;
  private written = 0;
  /** WRITTEN when the thread was last woken. */
  private wokenAt = 0;
  private cutCount = 0;
  private windowCount = 0;

  /** `crc`: compute each member's CRC-32 ({@link PieceDigests.memberEnd}), on the thread. */
  constructor(crc = false) {
    const shared: PieceHashShared = {
      crc,
      control: new SharedArrayBuffer(CONTROL_SLOTS * 4),
      ring: new SharedArrayBuffer(RING_BYTES),
      cuts: new SharedArrayBuffer(CUT_SLOTS * 4),
      windows: new SharedArrayBuffer(WINDOW_SLOTS * WINDOW_FIELDS * 4),
    };
    this.control = new Int32Array(shared.control);
    this.ring = new Uint8Array(shared.ring);
    this.cuts = new Int32Array(shared.cuts);
    this.windowSlots = new Int32Array(shared.windows);
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
      // The WINDOW_KEEP bytes before HASHED stay: a window may still be packed from them.
      const free = this.whenRoom(
        () =>
          RING_BYTES - WINDOW_KEEP - ((this.written - Atomics.load(this.control, C.HASHED)) >>> 0),
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

  /**
   * A checkpoint's window is the last `length` bytes given so far: the thread packs them
   * from the ring once it has hashed up to here (`bytes` is not needed).
   */
  window(length: number, incompressible: boolean): void {
    if (!Number.isSafeInteger(length) || length < 0 || length > WINDOW_KEEP) {
      throw new RangeError(`a window is 0 to ${WINDOW_KEEP} bytes, not ${length}`);
    }
    this.request(length, incompressible ? WindowKind.STORED : WindowKind.DEFLATED);
  }

  /** A member's output ends here: the thread gives its CRC-32 (when asked) at the end. */
  memberEnd(): void {
    this.request(0, WindowKind.MEMBER_END);
  }

  /** Put a request into the ring of window requests (waiting for a free slot). */
  private request(length: number, kind: number): void {
    this.whenRoom(
      () => WINDOW_SLOTS - ((this.windowCount - Atomics.load(this.control, C.PACKED)) >>> 0),
    );
    const slot = ((this.windowCount >>> 0) % WINDOW_SLOTS) * WINDOW_FIELDS;
    this.windowSlots[slot] = this.written;
    this.windowSlots[slot + 1] = length;
    this.windowSlots[slot + 2] = kind;
    this.windowCount = (this.windowCount + 1) | 0;
    Atomics.store(this.control, C.WINDOWS, this.windowCount);
    this.publish();
  }

  /** Every piece's digest and window, in order (the bytes after the last cut belong to none). */
  async finish(): Promise<PiecesDone> {
    Atomics.store(this.control, C.DONE, 1);
    this.publish(true);
    const reply = await this.reply;
    if ('error' in reply) throw new Error(`hashing the pieces failed: ${reply.error}`);
    return reply;
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
