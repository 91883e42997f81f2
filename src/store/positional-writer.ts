import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import type { createDigester } from '../digest/index.js';

/** Options of {@link PositionalWriter}. */
export interface PositionalWriterOptions {
  /** Hashes every chunk written, in file order. */
  hash?: ReturnType<typeof createDigester>;
  /** Called after each write with the file position reached. */
  onWritten?: (position: number) => void;
}

/**
 * A writable that puts each chunk at its own position in `file` (`pwritev`, never
 * `O_APPEND`), starting at `position`, and hashes exactly the chunks it writes. The hash
 * runs while the write it belongs to is in the thread pool, so hashing and disk work
 * overlap. Destroying it waits for the write in flight, so the caller may close the
 * file as soon as the pipeline settles.
 *
 * Why not `fs.createWriteStream({ fd, start })`: destroyed (an abort, a broken source),
 * it closes the fd even with `autoClose: false`, which only spares the close after a
 * normal finish, and a `FileHandle` handed to it cannot be closed until the stream closes
 * it. The writer needs the fd afterwards (`fstat`, the inode check, close once).
 */
export class PositionalWriter extends Writable {
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: FileHandle,
    /** The next byte's position in the file. */
    public position: number,
    private readonly options: PositionalWriterOptions = {},
  ) {
    // Node's fs streams batch writes the same way (writev of what queued meanwhile).
    super({ highWaterMark: 16 << 20 });
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (err?: Error | null) => void,
  ): void {
    this.writeAll([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (err?: Error | null) => void): void {
    this.writeAll(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.inFlight.then(
      () => callback(err),
      () => callback(err),
    );
  }

  private writeAll(buffers: Buffer[], callback: (err?: Error | null) => void): void {
    const start = this.position;
    const total = buffers.reduce((n, b) => n + b.length, 0);
    const write = writeFully(this.file, buffers, start, total);
    this.inFlight = write;
    for (const b of buffers) this.options.hash?.update(b);
    write.then(
      () => {
        this.position = start + total;
        this.options.onWritten?.(this.position);
        callback();
      },
      (err: Error) => callback(err),
    );
  }
}

/** `writev` at `position`, carrying on after a short write. */
async function writeFully(
  file: FileHandle,
  buffers: Buffer[],
  position: number,
  total: number,
): Promise<void> {
  let done = 0;
  let rest = buffers;
  while (done < total) {
    const { bytesWritten } = await file.writev(rest, position + done);
    if (bytesWritten === 0) throw new Error('write made no progress');
    done += bytesWritten;
    if (done < total) rest = remainder(buffers, done);
  }
}

function remainder(buffers: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  let left = skip;
  for (const b of buffers) {
    if (left >= b.length) {
      left -= b.length;
      continue;
    }
    out.push(left > 0 ? b.subarray(left) : b);
    left = 0;
  }
  return out;
}
