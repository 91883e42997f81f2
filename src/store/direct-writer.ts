import { constants, write } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { createDigester } from '../digest/index.js';
import { errnoCode } from './fs-errors.js';
import type { WriteTarget } from './positional-writer.js';

/**
 * Direct I/O for big blobs: `O_DIRECT` writes from a few reused, page-aligned staging
 * blocks, so a pull of a large layer to a disk allocates no page cache.
 *
 * Why: on the bench machine (a Firecracker guest with free page reporting) every new
 * page-cache folio of 128 KiB or more comes from memory the host has taken back, and the
 * first touch of each page faults on the host. Writing 1 GiB buffered cost 4-5 s of
 * system time whatever the write size (dd, 64 KiB writes), skopeo's 32 KiB writes 7 s;
 * the same GiB written `O_DIRECT` from 1 MiB blocks, one write in flight, took 0.1-0.2 s
 * of system time and 0.55 s in all (bench/ANALYSIS.md, sixth session). The blocks are
 * the same few pages for the whole transfer, so they cost no faults after the first pass.
 *
 * Node has no aligned allocation, but a `WebAssembly.Memory` is page-aligned (V8
 * reserves it with the page allocator, at 64 KiB granularity): the staging blocks are
 * views of one. Every direct write starts at a multiple of {@link DIRECT_BLOCK} from a
 * 4 KiB-aligned file position and is a whole block long, which satisfies any device of
 * up to 4 KiB logical blocks; the blob's last partial block goes out buffered through
 * the ordinary fd. A file system or device that refuses a direct write (`EINVAL`) gets
 * the rest of the blob through the ordinary fd, so a refusal costs nothing but speed.
 */

/** Bytes of one staging block, and of every direct write but the last. */
export const DIRECT_BLOCK = 1024 * 1024;
/** Staging blocks per blob: one being written while the next fills. */
const BLOCKS_PER_WRITER = 2;
/**
 * Blocks kept for later blobs of the same process: two writers' worth (big layers of one
 * pull are rarely more at once), so a long-lived server keeps at most 4 MiB resident.
 */
const MAX_SPARE_BLOCKS = 4;
/** File positions and direct write lengths must be multiples of this. */
const ALIGN = 4096;
/**
 * Blobs smaller than this are written buffered: their page cache serves the `unpack` that
 * often follows a pull (a 49 MB layer written direct was read back from the disk, 96,616
 * sectors), and up to a few hundred MB the kernel finds small free pages without the
 * host's help, so buffered writes of them cost no more (bench/ANALYSIS.md).
 */
export const DIRECT_MIN_BYTES = 64 * 1024 * 1024;

const spareBlocks: Buffer[] = [];

/** The one piece of the WebAssembly API used here (the project's TypeScript libs lack it). */
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer };
};

/** `count` page-aligned blocks of {@link DIRECT_BLOCK}, or undefined where wasm memory cannot be had. */
function takeBlocks(count: number): Buffer[] | undefined {
  const blocks = spareBlocks.splice(0, count);
  const missing = count - blocks.length;
  if (missing > 0) {
    let memory: { readonly buffer: ArrayBuffer };
    try {
      memory = new WebAssembly.Memory({ initial: (missing * DIRECT_BLOCK) / 65536 });
    } catch {
      spareBlocks.push(...blocks); // no WebAssembly (--jitless) or no address space
      return undefined;
    }
    for (let i = 0; i < missing; i++) {
      blocks.push(Buffer.from(memory.buffer, i * DIRECT_BLOCK, DIRECT_BLOCK));
    }
  }
  return blocks;
}

function giveBlocks(blocks: Buffer[]): void {
  spareBlocks.push(...blocks.slice(0, Math.max(0, MAX_SPARE_BLOCKS - spareBlocks.length)));
}

/** Options of {@link DirectWriter}. */
export interface DirectWriterOptions {
  /** Hashes every piece written, in file order. */
  hash?: ReturnType<typeof createDigester>;
  /** Called as writes complete with the file position reached. */
  onWritten?: (position: number) => void;
  /**
   * `writeTargetFor` the file's folder: its `maxWriteBytes` bounds each buffered system
   * call (the last partial block, or everything after a refused direct write), as a
   * `PositionalWriter` of that file would.
   */
  target: WriteTarget;
  /** The direct fd's write call (`fs.write`); tests put a refusing one here to inject faults. */
  directWrite?: typeof write;
}

interface WaitingPiece {
  piece: Buffer;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Whether a blob of `size` bytes, written from `position` on into a folder that is not
 * on tmpfs, should go through a {@link DirectWriter}: `WriteTarget.direct` off tmpfs
 * (writers ask their target, never this).
 */
export function wantsDirectWrites(size: number, position: number): boolean {
  return (
    constants.O_DIRECT !== undefined &&
    size - position >= DIRECT_MIN_BYTES &&
    position % ALIGN === 0
  );
}

/**
 * Puts a blob's pieces into `file` from `position` on, as {@link PositionalWriter} does,
 * but copied into aligned staging blocks and written `O_DIRECT` a whole block at a time
 * (see the file notes). {@link write} is a `BodySink` that usually copies the piece and
 * returns at once, so the connection's read buffer is free again right away; it returns
 * a promise only while both blocks are full. After the last piece, {@link finish} writes
 * what is staged; {@link close} must be called in every case (it waits for the write in
 * flight, then closes the direct fd and hands the blocks back).
 *
 * Open one with {@link DirectWriter.open}: undefined means direct writes are not to be
 * had here (no `O_DIRECT`, no `/proc`, the file system refuses the flag, no wasm memory),
 * and the caller writes buffered.
 */
export class DirectWriter {
  /** Where the next piece goes: the end of what was handed in so far. */
  public position: number;
  /** Where the next block write goes. */
  private writtenTo: number;
  /** Blocks full and waiting to be written, in file order. */
  private readonly full: Buffer[] = [];
  /** The block being filled, and how much of it is. */
  private filling: Buffer | undefined;
  private fill = 0;
  private readonly free: Buffer[];
  private readonly waiting: WaitingPiece[] = [];
  private inFlight: Promise<void> | undefined;
  private failure: Error | undefined;
  /** False once the direct fd refused a write: the rest goes through the ordinary fd. */
  private direct = true;
  /** Whole blocks written through the direct fd so far. */
  directWrites = 0;
  private closed = false;

  private constructor(
    private readonly file: FileHandle,
    private readonly directFile: FileHandle,
    private readonly blocks: Buffer[],
    position: number,
    private readonly options: DirectWriterOptions,
  ) {
    this.position = position;
    this.writtenTo = position;
    this.free = [...blocks];
    this.filling = this.free.shift();
  }

  /**
   * A direct writer onto `file` (opened for writing) from `position` on, or undefined
   * when direct writes cannot be had (see the class notes).
   */
  static async open(
    file: FileHandle,
    position: number,
    options: DirectWriterOptions,
  ): Promise<DirectWriter | undefined> {
    if (position % ALIGN !== 0 || constants.O_DIRECT === undefined) return undefined;
    let direct: FileHandle;
    try {
      // The inode `file` has open, reopened with O_DIRECT: no path to race with.
      direct = await open(`/proc/self/fd/${file.fd}`, constants.O_WRONLY | constants.O_DIRECT);
    } catch {
      return undefined; // no /proc, or the file system refuses O_DIRECT
    }
    const blocks = takeBlocks(BLOCKS_PER_WRITER);
    if (!blocks) {
      await direct.close().catch(() => {});
      return undefined;
    }
    return new DirectWriter(file, direct, blocks, position, options);
  }

  /** Stage `piece` at the next position; resolves (when it returns a promise) once it is copied. */
  readonly write = (piece: Buffer): Promise<void> | undefined => {
    if (this.failure) return Promise.reject(this.failure);
    this.position += piece.length;
    this.options.hash?.update(piece);
    if (this.waiting.length === 0) {
      const rest = this.stage(piece);
      if (rest.length === 0) return undefined;
      piece = rest;
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ piece, resolve, reject });
    });
  };

  /** Write what is staged (the last block, partly full); resolves once it is all in the file. */
  async finish(): Promise<void> {
    for (;;) {
      if (this.inFlight) await this.inFlight;
      else if (this.full.length > 0 && !this.failure) this.pump();
      else break;
    }
    if (this.failure) throw this.failure;
    const last = this.filling;
    const length = this.fill;
    this.fill = 0;
    if (!last || length === 0) return;
    const aligned = length - (length % ALIGN);
    if (aligned > 0) await this.track(last.subarray(0, aligned));
    if (length > aligned) {
      this.direct = false; // the tail is not a whole sector: through the ordinary fd
      await this.track(last.subarray(aligned, length));
    }
    if (this.failure) throw this.failure;
  }

  /** Wait for the write in flight, close the direct fd, give the blocks back. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failure ??= new Error('direct writer closed');
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
    while (this.inFlight) await this.inFlight.catch(() => {});
    await this.directFile.close().catch(() => {});
    giveBlocks(this.blocks);
  }

  /** Copy as much of `piece` as the free blocks take; returns what did not fit. */
  private stage(piece: Buffer): Buffer {
    let at = 0;
    while (at < piece.length && this.filling) {
      const n = piece.copy(this.filling, this.fill, at);
      at += n;
      this.fill += n;
      if (this.fill === DIRECT_BLOCK) {
        this.full.push(this.filling);
        this.filling = this.free.shift();
        this.fill = 0;
        this.pump();
      }
    }
    return at === piece.length ? piece.subarray(piece.length) : piece.subarray(at);
  }

  /** Start the next full block's write when none is in flight. */
  private pump(): void {
    if (this.inFlight || this.failure) return;
    const block = this.full.shift();
    if (!block) return;
    this.track(block).then(() => {
      this.free.push(block);
      if (!this.filling) this.filling = this.free.shift();
      this.drainWaiting();
      this.pump();
    });
  }

  /** Write `bytes` at the next file position, as the write in flight; never rejects (see `failure`). */
  private track(bytes: Buffer): Promise<void> {
    const at = this.writtenTo;
    const done = new Promise<void>((resolve) => {
      this.writeAt(bytes, at, (err) => {
        this.inFlight = undefined;
        if (err) this.fail(err);
        else {
          this.writtenTo = at + bytes.length;
          this.options.onWritten?.(this.writtenTo);
        }
        resolve();
      });
    });
    this.inFlight = done;
    return done;
  }

  /** `bytes` at `at`: one direct write, or buffered pieces after a refusal or a short write. */
  private writeAt(bytes: Buffer, at: number, done: (err: Error | null) => void): void {
    if (this.direct) {
      (this.options.directWrite ?? write)(
        this.directFile.fd,
        bytes,
        0,
        bytes.length,
        at,
        (err, n) => {
          if (err && errnoCode(err) === 'EINVAL') {
            this.direct = false; // alignment refused here: the ordinary fd from now on
            this.writeAt(bytes, at, done);
          } else if (err) done(err);
          else if (n === bytes.length) {
            this.directWrites++;
            done(null);
          } else if (n === 0) done(new Error('write made no progress'));
          else this.writeBuffered(bytes.subarray(n), at + n, done);
        },
      );
    } else this.writeBuffered(bytes, at, done);
  }

  private writeBuffered(bytes: Buffer, at: number, done: (err: Error | null) => void): void {
    const length = Math.min(bytes.length, this.options.target.maxWriteBytes);
    write(this.file.fd, bytes, 0, length, at, (err, n) => {
      if (err) done(err);
      else if (n === 0) done(new Error('write made no progress'));
      else if (n === bytes.length) done(null);
      else this.writeBuffered(bytes.subarray(n), at + n, done);
    });
  }

  /** Copy waiting pieces into blocks freed meanwhile, in order; settle those copied whole. */
  private drainWaiting(): void {
    while (this.waiting.length > 0 && this.filling && !this.failure) {
      const first = this.waiting[0] as WaitingPiece;
      const rest = this.stage(first.piece);
      if (rest.length > 0) {
        first.piece = rest;
        return;
      }
      this.waiting.shift();
      first.resolve();
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }
}
