import {
  C,
  CUT_SLOTS,
  type PieceHashShared,
  RING_BYTES,
  WINDOW_FIELDS,
  WINDOW_KEEP,
  WINDOW_SLOTS,
  WindowKind,
} from './piece-hash-layout.js';

/** How long the writer waits for room in the ring before it calls the readers stuck. */
const STALL_MS = 120_000;

/** Bytes written between wake-ups of a waiting reader, at least (the ring holds 8 MiB). */
const WAKE_BYTES = 1024 * 1024;

/**
 * The writing side of the piece hashing ring (piece-hash-layout.ts): copies output into
 * the shared ring and publishes piece ends, window requests and members' ends for the
 * hashing thread (piece-hash-worker.ts). It touches only shared memory, so it runs on
 * whichever thread inflates: the main thread ({@link PieceHasher}) or the inflate thread
 * (inflate-index-worker.ts), where the main thread reads the ring too, for its tar scan.
 */
export class PieceRingWriter {
  private readonly control: Int32Array;
  private readonly ring: Uint8Array;
  private readonly cuts: Int32Array;
  private readonly windowSlots: Int32Array;
  private written = 0;
  /** WRITTEN when the readers were last woken. */
  private wokenAt = 0;
  private cutCount = 0;
  private windowCount = 0;

  /**
   * `wakeScanner`: the main thread reads the ring too, for its tar scan: the writer then
   * also keeps behind SCANNED, and calls this to wake a main thread waiting for output.
   */
  constructor(
    shared: PieceHashShared,
    private readonly wakeScanner?: () => void,
  ) {
    this.control = new Int32Array(shared.control);
    this.ring = new Uint8Array(shared.ring);
    this.cuts = new Int32Array(shared.cuts);
    this.windowSlots = new Int32Array(shared.windows);
  }

  /** Copy `bytes` into the ring next (the caller may reuse its buffer at once). */
  update(bytes: Uint8Array): void {
    let from = 0;
    while (from < bytes.length) {
      const free = this.whenRoom(() => this.room());
      const at = (this.written >>> 0) % RING_BYTES;
      const n = Math.min(bytes.length - from, free, RING_BYTES - at);
      this.ring.set(bytes.subarray(from, from + n), at);
      from += n;
      this.written = (this.written + n) | 0;
      Atomics.store(this.control, C.WRITTEN, this.written);
      this.publish();
    }
  }

  /** A piece ends after the bytes written so far. */
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
   * A checkpoint's window is the last `length` bytes written so far: the hashing thread
   * packs them from the ring once it has hashed up to here (`bytes` is not needed).
   */
  window(length: number, incompressible: boolean, _bytes?: () => Uint8Array): void {
    if (!Number.isSafeInteger(length) || length < 0 || length > WINDOW_KEEP) {
      throw new RangeError(`a window is 0 to ${WINDOW_KEEP} bytes, not ${length}`);
    }
    this.request(length, incompressible ? WindowKind.STORED : WindowKind.DEFLATED);
  }

  /** A member's output ends here: the thread gives its CRC-32 (when asked) at the end. */
  memberEnd(): void {
    this.request(0, WindowKind.MEMBER_END);
  }

  /** Everything is written: the readers finish (the hashing thread replies). */
  finish(): void {
    Atomics.store(this.control, C.DONE, 1);
    this.publish(true);
  }

  /**
   * Free bytes of the ring: the WINDOW_KEEP bytes before HASHED stay (a window may still
   * be packed from them), and with `scanned` nothing the tar scan has not read is
   * written over.
   */
  private room(): number {
    const written = this.written;
    const hashedBehind = (written - Atomics.load(this.control, C.HASHED)) >>> 0;
    let free = RING_BYTES - WINDOW_KEEP - hashedBehind;
    if (this.wakeScanner) {
      const scanBehind = (written - Atomics.load(this.control, C.SCANNED)) >>> 0;
      free = Math.min(free, RING_BYTES - scanBehind);
    }
    return free;
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

  /**
   * Tell the readers what was written: SEQ always moves (a reader about to wait sees it and
   * goes on), a waiting reader is woken once WAKE_BYTES more are written or when `now`:
   * waking it for every block's few KiB cost a system call and a context switch each, more
   * than the hashing it moved (measured: 1.5 s of the 1 GiB layer's main thread). See the
   * hashing thread's side for why a wake cannot be missed; the main thread's tar scan
   * (inflate-on-thread.ts) waits the same way, with SCANNING, and is woken by a message.
   */
  publish(now = false): void {
    Atomics.add(this.control, C.SEQ, 1);
    if (!now && (this.written - this.wokenAt) >>> 0 < WAKE_BYTES) return;
    if (Atomics.load(this.control, C.SLEEPING) === 1) Atomics.notify(this.control, C.SEQ);
    if (this.wakeScanner && Atomics.load(this.control, C.SCANNING) === 1) this.wakeScanner();
    this.wokenAt = this.written;
  }

  /**
   * `room()` once it is more than 0, blocking until a reader frees some: the writer has
   * nothing else to do then. PROGRESS is read before the room, so progress made after
   * that read changes it and the wait returns at once.
   */
  private whenRoom(room: () => number): number {
    for (;;) {
      const progress = Atomics.load(this.control, C.PROGRESS);
      const n = room();
      if (n > 0) return n;
      this.publish(true);
      if (Atomics.wait(this.control, C.PROGRESS, progress, STALL_MS) === 'timed-out') {
        throw new Error(`the seek index readers made no progress in ${STALL_MS / 1000} s`);
      }
    }
  }
}
