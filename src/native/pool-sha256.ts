import type * as Koffi from 'koffi';
import { koffi, library } from './koffi.js';

/*
 * Why: a pull's main thread is busy from its first millisecond to its last (bench/ANALYSIS.md,
 * twelfth session: its event loop idles 8-9 ms of ~245), and a blob's sha256 is ~50 ms of
 * it for the app image's 85 MB. A worker thread to hash on costs more than it saves on 2
 * cores (a second V8 isolate: ~57 ms of CPU and ~2,900 pages). Here the hash runs on a
 * thread koffi already has, as asynchronous calls to the node binary's own `SHA256_Update`
 * (the same OpenSSL code node:crypto runs, with the same assembly), so no isolate starts.
 *
 * Each call costs ~45 us of the main thread (koffi's hand-off and completion), so calls
 * are few: one in flight per blob, and pieces queued meanwhile that lie side by side in
 * one piece of shared memory (a connection's read slab fills each view front to back)
 * go out as one call.
 *
 * The memory is the caller's, not a copy: koffi copies a typed array it is given (it has
 * no other way to make an ordinary ArrayBuffer's memory safe to read off the thread), so
 * a piece in a SharedArrayBuffer is passed by address, and the piece must stay untouched
 * until its promise settles. A piece in ordinary memory is copied, when its call starts,
 * into memory of the hasher's own.
 */

/** Native memory koffi allocated (an opaque external). */
type Pointer = unknown;

interface Sha256Calls {
  init(ctx: Pointer): number;
  update: Koffi.KoffiFunc<(ctx: Pointer, data: number, length: number) => number>;
  final(out: Uint8Array, ctx: Pointer): number;
  /** The address of a SharedArrayBuffer's memory (koffi passes shared memory as it is). */
  addressOf(bytes: Uint8Array): number;
}

let calls: Sha256Calls | undefined;

function bind(): Sha256Calls {
  if (calls) return calls;
  const ffi = koffi();
  const lib = library(null, "the node binary's OpenSSL");
  // memmove of 0 bytes returns its destination unchanged: koffi has no call for the
  // address of a typed array's memory.
  const memmove = lib.func('void *memmove(void *dst, const void *src, size_t n)');
  const init = lib.func('int SHA256_Init(void *ctx)');
  const update = lib.func('int SHA256_Update(void *ctx, uintptr_t data, size_t len)');
  const final = lib.func('int SHA256_Final(_Out_ uint8_t *md, void *ctx)');
  calls = {
    init,
    update,
    final,
    addressOf: (bytes) => Number(ffi.address(memmove(bytes, bytes, 0))),
  };
  return calls;
}

/** sizeof(SHA256_CTX) is 112 on every platform OpenSSL builds for; room to spare. */
const CTX_BYTES = 128;

/** At most this many bytes of queued neighbouring pieces go out as one call. */
const MAX_CALL_BYTES = 4 << 20;

/** Addresses of the shared memory pieces came in, found once each. */
const addresses = new WeakMap<ArrayBufferLike, number>();

interface Queued {
  piece: Uint8Array;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The sha256 of a sequence of pieces, computed on koffi's thread (libuv's pool), in order.
 * {@link PoolSha256.update} each piece and keep its memory untouched until the promise
 * settles; {@link PoolSha256.digest} once every piece was given; {@link PoolSha256.close}
 * always (also after a failure: it frees the native state once no call is in flight).
 */
export class PoolSha256 {
  private readonly c: Sha256Calls;
  private readonly ctx: Pointer;
  private readonly queue: Queued[] = [];
  private busy = false;
  private closed = false;
  private freed = false;
  /** Memory of its own for pieces that are not in shared memory (see the file notes). */
  private scratch: Uint8Array | undefined;
  private idle: (() => void) | undefined;

  /** Throws UnsupportedError when koffi or the symbols cannot be had. */
  constructor() {
    this.c = bind();
    this.ctx = koffi().alloc('uint8_t', CTX_BYTES);
    this.c.init(this.ctx);
  }

  /** Hash `piece` next; its memory must stay untouched until the promise settles. */
  update(piece: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the hasher is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ piece, resolve, reject });
      if (!this.busy) this.start();
    });
  }

  /** The hex digest of every piece given; the hasher cannot be used after. */
  async digest(): Promise<string> {
    if (this.busy) await new Promise<void>((resolve) => (this.idle = resolve));
    if (this.closed) throw new Error('the hasher was closed before its digest');
    const out = new Uint8Array(32);
    this.c.final(out, this.ctx);
    this.close();
    return Buffer.from(out.buffer, out.byteOffset, 32).toString('hex');
  }

  /**
   * Give up: pieces not yet started settle now (unhashed); the native state is freed once
   * the call in flight (if any) returns.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const q of this.queue.splice(0)) q.resolve();
    if (!this.busy) this.free();
  }

  private free(): void {
    if (this.freed) return;
    this.freed = true;
    koffi().free(this.ctx);
  }

  private start(): void {
    const first = this.queue.shift();
    if (!first) {
      this.busy = false;
      this.idle?.();
      this.idle = undefined;
      return;
    }
    this.busy = true;
    const batch = [first];
    const memory = first.piece.buffer;
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory instanceof SharedArrayBuffer;
    let length = first.piece.byteLength;
    let address: number;
    if (shared) {
      let base = addresses.get(memory);
      if (base === undefined) {
        base = this.c.addressOf(new Uint8Array(memory));
        addresses.set(memory, base);
      }
      address = base + first.piece.byteOffset;
      // Neighbours in the same memory go out with it.
      for (let next = this.queue[0]; next; next = this.queue[0]) {
        const p = next.piece;
        if (p.buffer !== memory || p.byteOffset !== first.piece.byteOffset + length) break;
        if (length + p.byteLength > MAX_CALL_BYTES) break;
        length += p.byteLength;
        batch.push(this.queue.shift() as Queued);
      }
    } else {
      if (!this.scratch || this.scratch.byteLength < length) {
        this.scratch = new Uint8Array(new SharedArrayBuffer(Math.max(length, 256 * 1024)));
      }
      this.scratch.set(first.piece);
      address = this.c.addressOf(this.scratch);
    }
    // The pieces (and the scratch) are referenced by this closure until the call returns,
    // so their memory cannot be collected while the thread reads it.
    const keep = this.scratch;
    this.c.update.async(this.ctx, address, length, (error: unknown, ok: number) => {
      void keep;
      const failure =
        error ?? (ok === 1 ? undefined : new Error('SHA256_Update failed on the thread pool'));
      for (const q of batch) {
        if (failure) q.reject(failure);
        else q.resolve();
      }
      if (this.closed) {
        this.busy = false;
        this.free();
        this.idle?.();
        return;
      }
      if (failure) {
        this.closed = true;
        for (const q of this.queue.splice(0)) q.reject(failure);
        this.busy = false;
        this.free();
        return;
      }
      this.start();
    });
  }
}

/**
 * Tried: pieces copied into segments of the hasher's own shared memory (the piece free at
 * once), a segment hashed in one call when full: fewer, longer calls.
 */
export class RingPoolSha256 {
  private readonly c: Sha256Calls;
  private readonly ctx: Pointer;
  private readonly segments: Uint8Array[];
  private readonly addressesOf: number[];
  /** Segment being filled, and how far. */
  private current = 0;
  private fill = 0;
  /** Segments full and waiting (in order), and whether a call is out. */
  private readonly waiting: Array<{ index: number; length: number }> = [];
  private busy: number | undefined;
  private failure: unknown;
  private closed = false;
  private freed = false;
  private wakes: Array<() => void> = [];
  /** An update waiting for room: later ones go after it, in order. */
  private pending: Promise<void> | undefined;

  constructor(segmentBytes: number, count: number) {
    this.c = bind();
    this.ctx = koffi().alloc('uint8_t', CTX_BYTES);
    this.c.init(this.ctx);
    const memory = new SharedArrayBuffer(segmentBytes * count);
    const all = new Uint8Array(memory);
    const base = this.c.addressOf(all);
    this.segments = Array.from({ length: count }, (_, i) =>
      all.subarray(i * segmentBytes, (i + 1) * segmentBytes),
    );
    this.addressesOf = this.segments.map((_, i) => base + i * segmentBytes);
  }

  /** Copy `piece` in; a promise only when the segment to fill next is still being hashed. */
  update(piece: Uint8Array): Promise<void> | undefined {
    if (this.pending) {
      const after: Promise<void> = this.pending.then(() => this.copy(piece));
      this.pending = after;
      void after
        .finally(() => {
          if (this.pending === after) this.pending = undefined;
        })
        .catch(() => {});
      return after;
    }
    const waiting = this.copy(piece);
    if (waiting) {
      this.pending = waiting;
      void waiting
        .finally(() => {
          if (this.pending === waiting) this.pending = undefined;
        })
        .catch(() => {});
    }
    return waiting;
  }

  private copy(piece: Uint8Array): Promise<void> | undefined {
    let at = 0;
    while (at < piece.byteLength) {
      if (this.failure) return Promise.reject(this.failure);
      if (this.inUse(this.current))
        return this.waitFor(this.current).then(() => this.copy(piece.subarray(at)));
      const room = this.segments[this.current] as Uint8Array;
      const n = Math.min(room.byteLength - this.fill, piece.byteLength - at);
      room.set(piece.subarray(at, at + n), this.fill);
      this.fill += n;
      at += n;
      if (this.fill === room.byteLength) this.seal();
    }
    return undefined;
  }

  async digest(): Promise<string> {
    await this.pending;
    if (this.fill > 0) this.seal();
    while (this.busy !== undefined || this.waiting.length > 0) {
      if (this.failure) break;
      await new Promise<void>((resolve) => this.wakes.push(resolve));
    }
    if (this.failure) throw this.failure;
    const out = new Uint8Array(32);
    this.c.final(out, this.ctx);
    this.close();
    return Buffer.from(out.buffer, out.byteOffset, 32).toString('hex');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.waiting.length = 0;
    if (this.busy === undefined) this.free();
  }

  private free(): void {
    if (this.freed) return;
    this.freed = true;
    koffi().free(this.ctx);
  }

  private inUse(index: number): boolean {
    return this.busy === index || this.waiting.some((w) => w.index === index);
  }

  private async waitFor(index: number): Promise<void> {
    while (this.inUse(index) && !this.failure) {
      await new Promise<void>((resolve) => this.wakes.push(resolve));
    }
  }

  private seal(): void {
    this.waiting.push({ index: this.current, length: this.fill });
    this.current = (this.current + 1) % this.segments.length;
    this.fill = 0;
    if (this.busy === undefined) this.start();
  }

  private start(): void {
    const next = this.waiting.shift();
    if (!next || this.closed) {
      this.busy = undefined;
      return;
    }
    this.busy = next.index;
    const memory = this.segments;
    this.c.update.async(
      this.ctx,
      this.addressesOf[next.index] as number,
      next.length,
      (error: unknown, ok: number) => {
        void memory;
        this.busy = undefined;
        if (error || ok !== 1) this.failure ??= error ?? new Error('SHA256_Update failed');
        if (this.closed) this.free();
        else if (!this.failure) this.start();
        for (const wake of this.wakes.splice(0)) wake();
      },
    );
  }
}
