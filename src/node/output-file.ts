import { randomBytes } from 'node:crypto';
import { constants, createWriteStream, type Stats } from 'node:fs';
import { chmod, lstat, open, readlink, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { InvalidArgumentError } from '../errors/index.js';
import { writeTargetFor } from '../store/positional-writer.js';
import { TargetWriteStream } from '../store/target-write-stream.js';

/**
 * Where a command's output goes, opened by {@link openOutputFile}: write to `stream`, then
 * `commit()` once everything is written and checked, or `abort()` on failure.
 */
export interface OutputFile {
  /** The bytes go here. */
  readonly stream: Writable;
  /**
   * How the target is written: `replace` (a regular file or a new path: a temp file
   * beside it, renamed over it on commit, so a failed run leaves the old file as it was)
   * or `through` (a FIFO, a device, a socket or an open stream: written as it is, since
   * renaming over it would replace what the path is).
   */
  readonly mode: 'replace' | 'through';
  /**
   * The path the bytes end up at, symbolic links followed (`undefined` for a stream).
   * A staging folder for a `replace` target belongs in its directory.
   */
  readonly target?: string;
  /** Finish: flush, and rename the temp file over the target (`replace`). */
  commit(): Promise<void>;
  /** Give up: remove the temp file (`replace`); what went `through` cannot be taken back. */
  abort(): Promise<void>;
}

const MAX_LINKS = 40;

/**
 * Open `path` for a command's output without replacing what the path already is:
 * - a regular file or a new path is replaced atomically (temp file beside it, renamed
 *   on commit; an existing file's mode is kept);
 * - a symbolic link is followed, and its target written as above: the link stays a link
 *   (a dangling link creates its target, as a shell's `>` would);
 * - a FIFO, a character or block device or a socket is opened and written through
 *   (`-o /dev/stdout`, `-o /dev/null`, a named pipe);
 * - a directory is refused.
 *
 * Pass a `Writable` (such as `process.stdout` for `-o -`) to write through it; it is not
 * ended on commit.
 */
export async function openOutputFile(path: string | Writable): Promise<OutputFile> {
  if (typeof path !== 'string') return throughStream(path);
  const { target, stats } = await followLinks(resolve(path));
  if (stats?.isDirectory()) {
    throw new InvalidArgumentError(`${path} is a directory; name a file to write`);
  }
  if (stats && !stats.isFile()) return throughPath(target);
  return replacing(target, stats);
}

/** Follow symbolic links from `path` to what they end at (which may not exist yet). */
async function followLinks(path: string): Promise<{ target: string; stats?: Stats }> {
  let target = path;
  for (let i = 0; i < MAX_LINKS; i++) {
    let stats: Stats;
    try {
      stats = await lstat(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { target };
      throw err;
    }
    if (!stats.isSymbolicLink()) return { target, stats };
    const link = await readlink(target);
    target = isAbsolute(link) ? link : resolve(dirname(target), link);
  }
  // Let the kernel say it (ELOOP) the way it says it to any other program.
  await stat(path);
  return { target: path };
}

function throughStream(stream: Writable): OutputFile {
  return {
    stream,
    mode: 'through',
    async commit() {
      // Everything written so far has been handed to the stream once a write of nothing
      // calls back; the stream stays open for whoever owns it.
      await new Promise<void>((done, fail) =>
        stream.write(Buffer.alloc(0), (err) => (err ? fail(err) : done())),
      );
    },
    async abort() {},
  };
}

/**
 * A FIFO, a device or a socket: a write stream on its fd, not the blob writers' rule
 * (`TargetWriteStream`): positioned writes fail on pipes and sockets (`ESPIPE`), and what
 * reads the other end, not a folder's file system, decides how writes are best sized.
 */
async function throughPath(target: string): Promise<OutputFile> {
  // O_TRUNC is ignored by FIFOs and devices; O_CREAT cannot apply (the path exists).
  const handle = await open(target, constants.O_WRONLY | constants.O_NOCTTY);
  const stream = createWriteStream('', { fd: handle.fd, autoClose: false });
  const close = async () => {
    if (!stream.writableFinished && !stream.destroyed) {
      stream.end();
      await finished(stream).catch(() => {});
    }
    await handle.close().catch(() => {});
  };
  return {
    stream,
    mode: 'through',
    target,
    async commit() {
      stream.end();
      await finished(stream);
      await handle.close();
    },
    abort: close,
  };
}

async function replacing(target: string, existing: Stats | undefined): Promise<OutputFile> {
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const [handle, writeTarget] = await Promise.all([
    open(temp, 'wx'),
    writeTargetFor(dirname(target)),
  ]);
  // A regular file: written as every blob is (store/target-write-stream.ts); the handle
  // stays open after the stream for the mode and the close below.
  const stream = new TargetWriteStream(handle, writeTarget, { closeFile: false });
  let settled = false;
  const removeTemp = async () => {
    stream.destroy();
    await finished(stream).catch(() => {}); // a write still in the pool settles first
    await handle.close().catch(() => {});
    await unlink(temp).catch(() => {});
  };
  return {
    stream,
    mode: 'replace',
    target,
    async commit() {
      if (settled) return;
      settled = true;
      try {
        stream.end();
        await finished(stream);
        if (existing) await chmod(temp, existing.mode & 0o7777);
        await handle.close();
        await rename(temp, target);
      } catch (err) {
        await removeTemp();
        throw err;
      }
    },
    async abort() {
      if (settled) return;
      settled = true;
      await removeTemp();
    },
  };
}
