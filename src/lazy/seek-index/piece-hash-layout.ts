/**
 * The shared memory a {@link PieceHasher} and its thread (`piece-hash-worker.ts`) work
 * through: a byte ring the output is copied into, a ring of piece ends, a ring of window
 * requests, and the counters of all three (Int32, compared modulo 2^32: each ring is far
 * smaller than that).
 */

/** Bytes of output in flight between the two threads, at most. */
export const RING_BYTES = 8 * 1024 * 1024;
/** Piece ends in flight, at most. */
export const CUT_SLOTS = 4096;
/** Window requests in flight, at most (a layer has one per checkpoint: a few hundred). */
export const WINDOW_SLOTS = 256;
/**
 * Int32 fields of a window request: where it ends (the WRITTEN count), its length, and its
 * {@link WindowKind}. A gzip member's end goes through the same ring (it is as rare).
 */
export const WINDOW_FIELDS = 3;

/** What a window request asks: a window deflated or stored (pack-window.ts), or a member's end. */
export const WindowKind = { DEFLATED: 0, STORED: 1, MEMBER_END: 2 } as const;
/**
 * The bytes the thread keeps behind what it hashed (the main thread never writes over
 * them): a window is the 32 KiB of output before its checkpoint, packed once the thread
 * has hashed up to there.
 */
export const WINDOW_KEEP = 32 * 1024;

/** Indexes in the control array. */
export const C = {
  /** Bumped on every publication by the main thread: what the thread waits on. */
  SEQ: 0,
  /** Bytes written into the ring (main thread). */
  WRITTEN: 1,
  /** Piece ends published (main thread). */
  CUTS: 2,
  /** 1 once the main thread wrote everything (then the thread digests and replies). */
  DONE: 3,
  /** Bytes hashed, whose room in the ring is free again (thread). */
  HASHED: 4,
  /** Pieces digested, whose slots in the ring of piece ends are free again (thread). */
  DIGESTED: 5,
  /** Bumped by the thread after HASHED or DIGESTED moved: what the main thread waits on. */
  PROGRESS: 6,
  /** 1 while the thread waits for SEQ to change (so the main thread wakes it). */
  SLEEPING: 7,
  /** Window requests published (main thread). */
  WINDOWS: 8,
  /** Window requests packed, whose slots are free again (thread). */
  PACKED: 9,
} as const;

export const CONTROL_SLOTS = 10;

/** What the thread is given at its start. */
export interface PieceHashShared {
  control: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  /** Where each piece ends: the WRITTEN count at its end. */
  cuts: SharedArrayBuffer;
  /** The window requests, {@link WINDOW_FIELDS} Int32 each. */
  windows: SharedArrayBuffer;
  /** Whether the thread computes each gzip member's CRC-32 (see PieceHasher). */
  crc: boolean;
}

/**
 * The thread's one reply: every piece's sha256, every window packed (pack-window.ts) and
 * every member's CRC-32 (when asked), each in order, or what went wrong.
 */
export type PieceHashReply =
  | { digests: string[]; windows: Uint8Array[]; members: number[] }
  | { error: string };
