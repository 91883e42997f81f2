import { createHash } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { startWorker } from '../../node/start-worker.js';
import { packWindow } from './pack-window.js';
import {
  CONTROL_SLOTS,
  CUT_SLOTS,
  type PieceHashReply,
  type PieceHashShared,
  RING_BYTES,
  WINDOW_FIELDS,
  WINDOW_SLOTS,
} from './piece-hash-layout.js';
import { PieceRingWriter } from './piece-ring-writer.js';

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

/** The shared memory of a piece hashing ring, new (piece-hash-layout.ts). */
export function newPieceHashShared(crc: boolean): PieceHashShared {
  return {
    crc,
    control: new SharedArrayBuffer(CONTROL_SLOTS * 4),
    ring: new SharedArrayBuffer(RING_BYTES),
    cuts: new SharedArrayBuffer(CUT_SLOTS * 4),
    windows: new SharedArrayBuffer(WINDOW_SLOTS * WINDOW_FIELDS * 4),
  };
}

/**
 * Start the hashing thread on `shared`: it reads what a {@link PieceRingWriter} writes
 * there and its reply (digests, windows, CRC-32s) resolves once the writer finished.
 */
export function startPieceHashThread(shared: PieceHashShared): {
  worker: Worker;
  reply: Promise<PieceHashReply>;
} {
  const worker = startWorker(import.meta.url, 'piece-hash-worker', shared);
  const reply = new Promise<PieceHashReply>((resolve) => {
    worker.once('message', resolve);
    worker.once('error', (err) => resolve({ error: err.message }));
    worker.once('exit', (code) => resolve({ error: `the hashing thread exited (${code})` }));
  });
  return { worker, reply };
}

/** The hashing thread's reply as {@link PiecesDone}, or its failure thrown. */
export async function piecesDone(reply: Promise<PieceHashReply>): Promise<PiecesDone> {
  const r = await reply;
  if ('error' in r) throw new Error(`hashing the pieces failed: ${r.error}`);
  return r;
}

/**
 * The sha256 digests of consecutive pieces of a stream, computed on a thread of their own:
 * {@link PieceHasher.update} with the bytes, {@link PieceHasher.cut} where a piece ends,
 * {@link PieceHasher.window} where a checkpoint's window is to be packed,
 * {@link PieceHasher.finish} for every piece's digest and window in order. Call
 * {@link PieceHasher.close} when done (also after a failure). The writing is
 * {@link PieceRingWriter}'s, on the calling thread.
 */
export class PieceHasher extends PieceRingWriter implements PieceDigests {
  private readonly worker: Worker;
  private readonly reply: Promise<PieceHashReply>;

  /** `crc`: compute each member's CRC-32 ({@link PieceDigests.memberEnd}), on the thread. */
  constructor(crc = false) {
    const shared = newPieceHashShared(crc);
    super(shared);
    ({ worker: this.worker, reply: this.reply } = startPieceHashThread(shared));
  }

  /** Every piece's digest and window, in order (the bytes after the last cut belong to none). */
  override async finish(): Promise<PiecesDone> {
    super.finish();
    return piecesDone(this.reply);
  }

  /** Stop the thread (it ends by itself after {@link PieceHasher.finish}). */
  close(): void {
    void this.worker.terminate();
  }
}
