import type { FileHandle } from 'node:fs/promises';
import type { createDigester } from '../digest/index.js';

/** Options of {@link PositionalWriter}. */
export interface PositionalWriterOptions {
  /** Hashes every piece written, in file order. */
  hash?: ReturnType<typeof createDigester>;
  /** Called as writes complete with the file position reached (start + bytes written). */
  onWritten?: (position: number) => void;
}

/**
 * Puts each piece of a blob at its own position in `file` (`pwrite`, never `O_APPEND`),
 * starting at `position`, and hashes exactly the pieces it writes, in order: the bytes
 * hashed are the bytes at positions start..position-1 whatever order the writes finish
 * in. {@link write} is a `BodySink`: the piece is usually a view of a connection's read
 * buffer, written straight from there (no copy, no write stream, no queue) and released
 * when the returned promise settles; several writes may be in flight, as many as the
 * source has buffers. The hash runs while the write is in the thread pool.
 *
 * Why not `fs.createWriteStream({ fd, start })`: it queues chunks (memory the size of its
 * high-water mark), and destroyed (an abort, a broken source) it closes the fd even with
 * `autoClose: false`. The blob writer needs the fd afterwards (`fstat`, the inode check,
 * close once), and its source settles only after every write it started settled, so the
 * fd is never closed under a write.
 */
export class PositionalWriter {
  private readonly start: number;
  private written = 0;

  constructor(
    private readonly file: FileHandle,
    /** Where the next piece goes: the end of what was handed in so far. */
    public position: number,
    private readonly options: PositionalWriterOptions = {},
  ) {
    this.start = position;
  }

  /** Write `piece` at the next position; resolves once the kernel has it. */
  readonly write = (piece: Buffer): Promise<void> => {
    const at = this.position;
    this.position += piece.length;
    const done = writeFully(this.file, piece, at);
    this.options.hash?.update(piece);
    return done.then(() => {
      this.written += piece.length;
      this.options.onWritten?.(this.start + this.written);
    });
  };
}

/** `pwrite` at `position`, carrying on after a short write. */
async function writeFully(file: FileHandle, piece: Buffer, position: number): Promise<void> {
  for (let done = 0; done < piece.length; ) {
    const { bytesWritten } = await file.write(piece, done, piece.length - done, position + done);
    if (bytesWritten === 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}
