import { readFileSync, writev, writevSync } from 'node:fs';
import { type FileHandle, statfs } from 'node:fs/promises';
import type { createDigester } from '../digest/index.js';
import { wantsDirectWrites } from './direct-writer.js';

/** Options of {@link PositionalWriter}. */
export interface PositionalWriterOptions {
  /** Hashes every piece written, in file order. */
  hash?: ReturnType<typeof createDigester>;
  /** Called as writes complete with the file position reached. */
  onWritten?: (position: number) => void;
  /**
   * How files of this folder are written: {@link writeTargetFor} the file's folder. The
   * writer takes both its decisions from it (the size of a call, the calling thread or
   * the pool) and has no default of its own, so no writer of blobs decides for itself.
   */
  target: WriteTarget;
  /** What the file is for, the writer's one property the target asks about (default `keep`). */
  use?: WriteUse;
}

/**
 * What a written file is for, as far as how to write it goes: `keep`, a file written to
 * be kept (a blob, an upload, an archive's file; read later, if at all); `relay`, a file
 * that readers in this process read back while it is written, to send on (the
 * pull-through cache's spool).
 */
export type WriteUse = 'keep' | 'relay';

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Puts each piece of a blob at its own position in `file` (`pwritev`, never `O_APPEND`),
 * starting at `position`, and hashes exactly the pieces it writes, in order: the bytes
 * hashed are the bytes at positions start..position-1.
 *
 * {@link write} is a `BodySink`: the piece is usually a view of a connection's read
 * buffer, written straight from there (no copy, no stream) and released when the returned
 * promise settles (on a {@link WriteTarget.synchronous} target it is written before
 * `write` returns instead).
 * One write is in the thread pool at a time; pieces that arrive meanwhile
 * go out together in the next `pwritev` (their positions follow each other). Measured on
 * tmpfs, concurrent `pwrite`s to one file made more system time than this (they contend
 * for the inode's lock), and `FileHandle.write` allocated ~3 KiB of promises per call,
 * most of what a pull allocated per piece: hence the callback API on the handle's fd.
 *
 * Why not `fs.createWriteStream({ fd, start })`: it queues chunks (memory the size of its
 * high-water mark), and destroyed (an abort, a broken source) it closes the fd even with
 * `autoClose: false`. The blob writer needs the fd afterwards (`fstat`, the inode check,
 * close once), and its source settles only after every write it started settled, so the
 * fd is never closed under a write.
 */
export class PositionalWriter {
  /** Where the queued pieces go. */
  private writtenTo: number;
  private queue: Buffer[] = [];
  private waiters: Waiter[] = [];
  private writing = false;
  private failure: Error | undefined;
  /** Each piece is written before {@link write} returns: the target's answer for the use. */
  private readonly synchronous: boolean;

  constructor(
    private readonly file: FileHandle,
    /** Where the next piece goes: the end of what was handed in so far. */
    public position: number,
    private readonly options: PositionalWriterOptions,
  ) {
    this.writtenTo = position;
    this.synchronous = options.target.synchronous(options.use ?? 'keep');
  }

  /**
   * Write `piece` at the next position; resolves once the kernel has it. A writer whose
   * target says {@link WriteTarget.synchronous} for its use has written it when this
   * returns (undefined), and throws a failed write's error.
   */
  readonly write = (piece: Buffer): Promise<void> | undefined => {
    if (this.failure) return Promise.reject(this.failure);
    this.position += piece.length;
    this.options.hash?.update(piece);
    if (this.synchronous) {
      this.writeNow(piece);
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push(piece);
      this.waiters.push({ resolve, reject });
      if (!this.writing) this.flush();
    });
  };

  /** `piece` at {@link writtenTo}, on this thread (the synchronous mode: nothing is ever queued). */
  private writeNow(piece: Buffer): void {
    const at = this.writtenTo;
    const limit = this.options.target.maxWriteBytes;
    try {
      for (let written = 0; written < piece.length; ) {
        const window =
          written === 0 && piece.length <= limit ? [piece] : writeWindow([piece], written, limit);
        const n = writevSync(this.file.fd, window, at + written);
        if (n === 0) throw new Error('write made no progress');
        written += n;
      }
    } catch (err) {
      this.failure ??= err as Error;
      throw this.failure;
    }
    this.writtenTo = at + piece.length;
    this.options.onWritten?.(this.writtenTo);
  }

  private flush(): void {
    const pieces = this.queue;
    const waiters = this.waiters;
    this.queue = [];
    this.waiters = [];
    this.writing = true;
    const at = this.writtenTo;
    writeFully(this.file.fd, pieces, at, this.options.target.maxWriteBytes, (err, total) => {
      this.writing = false;
      if (err) {
        this.failure ??= err;
        for (const w of [...waiters, ...this.waiters]) w.reject(this.failure);
        this.queue = [];
        this.waiters = [];
        return;
      }
      this.writtenTo = at + total;
      this.options.onWritten?.(this.writtenTo);
      for (const w of waiters) w.resolve();
      if (this.queue.length > 0) this.flush();
    });
  }
}

/**
 * The most one system call writes off tmpfs where free page reporting hands blocks of
 * 128 KiB and up back to the host (`page_reporting_order` 5, the VM of the fourth to
 * sixth sessions). Why: on ext4 with large folios (Linux 6.x) a write of `n` bytes gets
 * page-cache folios of up to `n`, and in such a VM folios of a reported size come from
 * memory the host dropped, whose first touch faults on the host: 86 MB in 1 MiB calls cost
 * ~0.55 s of system time there, in 64 KiB calls ~0.03 s. skopeo writes 32 KiB at a time.
 * See {@link writeTargetFor} for how the limit follows the machine.
 */
export const MAX_WRITE_BYTES = 64 * 1024;

/**
 * The most one system call writes off tmpfs on any machine. Bigger calls gain little
 * (the connection reads 256 KiB at a time) and 1 MiB is below the 2 MiB blocks a VM
 * reports by default.
 */
export const LARGEST_WRITE_BYTES = 1024 * 1024;

/** Where Linux says from which block order on free memory is reported to the host. */
const REPORTING_ORDER_FILE = '/sys/module/page_reporting/parameters/page_reporting_order';

/**
 * The write limit for a machine whose kernel reports free blocks of `order` (pages of
 * 4 KiB, the smallest page size, so the bound is never too high) and up to the host, or
 * `undefined` when it does not report: half a reported block, so every folio a write
 * makes comes from free lists the host never took back, within {@link MAX_WRITE_BYTES}
 * and {@link LARGEST_WRITE_BYTES}. Order 0 (every free page reported) gets the least; no
 * number, or a negative one, the most (while no device reports, Linux shows the order as
 * the unsigned -1, 4294967295, which is past every block size and gets the most too).
 */
export function writeLimitForReporting(order: number | undefined): number {
  if (order === undefined || !Number.isInteger(order) || order < 0) return LARGEST_WRITE_BYTES;
  const below = 4096 * 2 ** (order - 1);
  return Math.min(LARGEST_WRITE_BYTES, Math.max(MAX_WRITE_BYTES, below));
}

let reportingLimit: number | undefined;

/**
 * {@link writeLimitForReporting} of this machine, read once per process. Read
 * synchronously: a sysfs file answers from memory, and one read on the main thread costs
 * less than the four thread-pool round trips of an asynchronous `readFile` in front of
 * the first blob's write.
 */
function machineWriteLimit(): number {
  if (reportingLimit === undefined) {
    let order: number | undefined;
    try {
      order = Number.parseInt(readFileSync(REPORTING_ORDER_FILE, 'latin1'), 10);
    } catch {
      order = undefined; // no free page reporting (or not Linux): nothing is handed back
    }
    reportingLimit = writeLimitForReporting(order);
  }
  return reportingLimit;
}

/** statfs(2) `f_type` of tmpfs. */
const TMPFS_MAGIC = 0x01021994;

/**
 * How files made in one folder are written: every decision a writer of blob bytes makes
 * about its system calls, taken once per folder by {@link writeTargetFor}. Writers take
 * it whole (`PositionalWriter`, `DirectWriter`, unpack's writer thread) instead of asking
 * single questions, so a new decision reaches every writer through this one object.
 */
export interface WriteTarget {
  /** The folder is on tmpfs (false when it cannot be told). */
  readonly onTmpfs: boolean;
  /** The most one system call should write into its files. */
  readonly maxWriteBytes: number;
  /**
   * Whether a writer of a file for `use` writes each piece on the calling thread, before
   * its `write` returns, instead of on libuv's thread pool. Off tmpfs never: a disk write
   * may wait for the device, which must never stop the event loop. On tmpfs for `keep`:
   * there a write is a memory copy that never waits for a device, costing about what
   * hashing the piece costs (already done on the calling thread), while the pool's round
   * trip added wake-ups of two threads per write on a machine whose cores the pull keeps
   * busy, and held the connection's read buffer until the completion came back (app pull
   * into tmpfs: bench/ANALYSIS.md, h15t); it holds whatever the pieces are: the
   * registry's uploads (HTTP chunks of at most 64 KiB, fresh memory each) spent 19 % less
   * CPU on an app push, and six pushes at once took less time too (bench/ANALYSIS.md,
   * hone). The price, a write blocking the event loop for its copy (and, under memory
   * pressure, for reclaim), is the hash's price for the same piece. Not for `relay`: the
   * thread that writes a spool also reads it back and sends it on, so the copy into tmpfs
   * lies on the relay's path and is better made on another core meanwhile: a 49 MB
   * layer through the pull-through cache took ~25 % longer written on the main thread,
   * for ~8 % less CPU (bench/ANALYSIS.md, hone).
   */
  synchronous(use: WriteUse): boolean;
  /**
   * Whether a blob of `size` bytes, written from `position` on, goes `O_DIRECT` (through
   * a `DirectWriter`): never on tmpfs (it has no device to bypass the cache of), and
   * elsewhere as `wantsDirectWrites` says.
   */
  direct(size: number, position: number): boolean;
}

const targets = new Map<string, Promise<WriteTarget>>();
/**
 * Answers kept at most: a library caller may write into a fresh folder per run (a
 * conversion's work folder), and a long-lived process must not keep one for each.
 */
const MAX_TARGETS = 256;

/**
 * How files made in `dir` are best written, from one `statfs` of it, asked once per
 * folder and process (callers pass a folder that lasts where they can, never one per
 * blob or session; at most {@link MAX_TARGETS} answers are kept):
 * on tmpfs writes are unlimited (its pages are 4 KiB whatever the write size); elsewhere
 * what {@link writeLimitForReporting} allows on this machine: 64 KiB where free blocks of
 * 128 KiB are reported to the host, 1 MiB where only 2 MiB blocks are (the bench VM since
 * 2026-12-04: each 64 KiB call of a pull to the disk was a thread-pool round trip through
 * the busy main thread, and the connection's read buffers stayed held meanwhile;
 * bench/ANALYSIS.md, tenth session); and the other decisions of {@link WriteTarget}.
 * Every writer that streams blob or layer bytes into files takes its target here: the
 * store's blob writer (direct or positional), unpack's writer thread, the registry's
 * upload sessions, the pull-through cache's spool, archive extraction and artifact pulls.
 */
export function writeTargetFor(dir: string): Promise<WriteTarget> {
  let target = targets.get(dir);
  if (!target) {
    target = statfs(dir)
      .then(
        (info) => info.type === TMPFS_MAGIC,
        () => {
          // Not kept: a folder asked about before it is made (an uploads folder before
          // the first upload) must get its real answer on the next ask.
          targets.delete(dir);
          return false;
        },
      )
      .then(targetOf);
    if (targets.size >= MAX_TARGETS) targets.delete(targets.keys().next().value as string);
    targets.set(dir, target);
  }
  return target;
}

/** The {@link WriteTarget} of a folder on tmpfs (`onTmpfs`) or not. */
export function targetOf(onTmpfs: boolean): WriteTarget {
  return onTmpfs
    ? {
        onTmpfs,
        maxWriteBytes: Number.POSITIVE_INFINITY,
        synchronous: (use) => use === 'keep',
        direct: () => false,
      }
    : {
        onTmpfs,
        maxWriteBytes: machineWriteLimit(),
        synchronous: () => false,
        direct: wantsDirectWrites,
      };
}

/** `pwritev` of `pieces` at `position`, at most `limit` bytes a call, carrying on after a short write. */
function writeFully(
  fd: number,
  pieces: Buffer[],
  position: number,
  limit: number,
  done: (err: Error | null, total: number) => void,
): void {
  const total = pieces.reduce((n, p) => n + p.length, 0);
  let written = 0;
  const next = (err: NodeJS.ErrnoException | null, bytesWritten: number): void => {
    if (err) {
      done(err, written);
      return;
    }
    written += bytesWritten;
    if (written === total) done(null, total);
    else if (bytesWritten === 0) done(new Error('write made no progress'), written);
    else writev(fd, writeWindow(pieces, written, limit), position + written, next);
  };
  if (total === 0) queueMicrotask(() => done(null, 0));
  else writev(fd, writeWindow(pieces, 0, limit), position, next);
}

/** Views of `pieces`' bytes from `skip` on, `limit` of them at most. */
export function writeWindow(pieces: readonly Buffer[], skip: number, limit: number): Buffer[] {
  const out: Buffer[] = [];
  let left = skip;
  let room = limit;
  for (const p of pieces) {
    if (left >= p.length) {
      left -= p.length;
      continue;
    }
    const take = Math.min(p.length - left, room);
    out.push(left > 0 || take < p.length ? p.subarray(left, left + take) : p);
    left = 0;
    room -= take;
    if (room === 0) break;
  }
  return out;
}
