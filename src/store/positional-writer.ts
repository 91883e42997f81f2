import { writev } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { createDigester } from '../digest/index.js';

/** Options of {@link PositionalWriter}. */
export interface PositionalWriterOptions {
  /** Hashes every piece written, in file order. */
  hash?: ReturnType<typeof createDigester>;
  /** Called as writes complete with the file position reached. */
  onWritten?: (position: number) => void;
}

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
 * promise settles. One write is in the thread pool at a time; pieces that arrive meanwhile
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

  constructor(
    private readonly file: FileHandle,
    /** Where the next piece goes: the end of what was handed in so far. */
    public position: number,
    private readonly options: PositionalWriterOptions = {},
  ) {
    this.writtenTo = position;
  }

  /** Write `piece` at the next position; resolves once the kernel has it. */
  readonly write = (piece: Buffer): Promise<void> => {
    if (this.failure) return Promise.reject(this.failure);
    this.position += piece.length;
    this.options.hash?.update(piece);
    return new Promise<void>((resolve, reject) => {
      this.queue.push(piece);
      this.waiters.push({ resolve, reject });
      if (!this.writing) this.flush();
    });
  };

  private flush(): void {
    const pieces = this.queue;
    const waiters = this.waiters;
    this.queue = [];
    this.waiters = [];
    this.writing = true;
    const at = this.writtenTo;
    writeFully(this.file.fd, pieces, at, (err, total) => {
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

/** `pwritev` of `pieces` at `position`, carrying on after a short write. */
function writeFully(
  fd: number,
  pieces: Buffer[],
  position: number,
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
    else writev(fd, remainder(pieces, written), position + written, next);
  };
  writev(fd, pieces, position, next);
}

/** What is left of `pieces` after their first `skip` bytes. */
function remainder(pieces: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  let left = skip;
  for (const p of pieces) {
    if (left >= p.length) {
      left -= p.length;
      continue;
    }
    out.push(left > 0 ? p.subarray(left) : p);
    left = 0;
  }
  return out;
}
