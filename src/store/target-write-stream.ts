import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { PositionalWriter, type WriteTarget, writeTargetFor } from './positional-writer.js';

/** Options of {@link TargetWriteStream}. */
export interface TargetWriteStreamOptions {
  /**
   * Close the file once the stream is finished or destroyed (default true). False when
   * the caller keeps using the handle after the stream (`fchmod`, its own close).
   */
  closeFile?: boolean;
}

/**
 * A `Writable` into a file at positions 0, 1, 2, … that writes the way every blob writer
 * does: each chunk through a {@link PositionalWriter} whose {@link WriteTarget} (call
 * size; on the calling thread or on the pool) is the one of the file's folder. For the
 * writers whose bytes arrive as a stream and whose consumers want a `Writable` (archive
 * staging, converted layers, artifact files, a command's output file), in place of
 * `fs.createWriteStream`, whose calls are one chunk (or one `writev` of what is buffered)
 * each, on the pool always, sized by the producer: a second rule beside the target's.
 *
 * A chunk's callback runs once its bytes are in the file (at once on a synchronous
 * target), so `finish` means every byte is written; a write error fails the stream.
 */
export class TargetWriteStream extends Writable {
  private readonly writer: PositionalWriter;
  /** The last write handed to the pool: it settles after every earlier one. */
  private lastWrite: Promise<void> | undefined;

  /** Until closed. */
  private file: FileHandle | undefined;

  constructor(
    file: FileHandle,
    target: WriteTarget,
    private readonly options: TargetWriteStreamOptions = {},
  ) {
    super({ decodeStrings: true });
    this.file = file;
    this.writer = new PositionalWriter(file, 0, { target });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void) {
    let pending: Promise<void> | undefined;
    try {
      pending = this.writer.write(chunk);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (!pending) {
      done();
      return;
    }
    this.lastWrite = pending;
    pending.then(() => done(), done);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (err?: Error | null) => void): void {
    // The writer gathers pieces handed in while one write is in flight into one call.
    const pending: Promise<void>[] = [];
    try {
      for (const { chunk } of chunks) {
        const p = this.writer.write(chunk);
        if (p) pending.push(p);
      }
    } catch (err) {
      for (const p of pending) p.catch(() => {});
      done(err as Error);
      return;
    }
    if (pending.length === 0) {
      done();
      return;
    }
    this.lastWrite = pending[pending.length - 1];
    Promise.all(pending).then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    const file = this.file;
    this.file = undefined;
    // A destroyed stream (an abort) may have a write in the pool: the fd is closed only
    // after it, so its number is never reused under that write.
    const settled = (this.lastWrite ?? Promise.resolve()).catch(() => {});
    if (!file || this.options.closeFile === false) {
      settled.then(() => done(err));
      return;
    }
    settled
      .then(() => file.close())
      .then(
        () => done(err),
        (closeErr: Error) => done(err ?? closeErr),
      );
  }
}

/**
 * Open `path` (`flags` as `fs.open` takes them, default `w`) and a
 * {@link TargetWriteStream} into it that closes it, with the {@link writeTargetFor}
 * answer of `folder` (default: the file's own folder; pass a lasting one above a per-run
 * staging folder where there is one, since answers are kept per folder).
 */
export async function openTargetWriteStream(
  path: string,
  options: { flags?: string | number; mode?: number; folder?: string } = {},
): Promise<TargetWriteStream> {
  const [file, target] = await Promise.all([
    open(path, options.flags ?? 'w', options.mode),
    writeTargetFor(options.folder ?? dirname(path)),
  ]);
  return new TargetWriteStream(file, target);
}
