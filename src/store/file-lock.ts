import { type FileHandle, lstat, open, readFile, stat, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from '../errors/index.js';
import { errnoCode, storeFsError } from './fs-errors.js';
import { currentOwner, ownerState, type ProcessOwner } from './process-owner.js';

/** Options of {@link FileLock.acquire}. */
export interface FileLockOptions {
  /** Cancels the wait. */
  signal?: AbortSignal;
  /** Give up with a `StoreError` after this many ms of waiting (default 120 s). */
  timeoutMs?: number;
  /**
   * A lock held from another host (whose processes cannot be checked), or whose file
   * cannot be read, is stale once its file has not been touched for this long. The holder
   * touches the file every `staleMs / 4`. A holder on this host is judged by its process
   * alone, never by this age. Default 30 s.
   */
  staleMs?: number;
  /** Longest pause between attempts (default 250 ms); pauses start at 5 ms and grow. */
  maxBackoffMs?: number;
  /** Called once when the lock is busy and the caller starts waiting. */
  onWait?: (holder: LockHolder | undefined) => void;
}

/** What a lock file says about its holder. */
export interface LockHolder extends Partial<Omit<ProcessOwner, 'host' | 'pid'>> {
  pid: number;
  host: string;
  /** When the lock was taken (ms since the epoch). */
  time: number;
}

async function readHolder(
  path: string,
): Promise<{ text: string; holder?: LockHolder } | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    try {
      return { text, holder: JSON.parse(text) as LockHolder };
    } catch {
      return { text }; // being written right now, or garbage: judged by age alone
    }
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Waiters of this process per lock file (absolute path): the tail of a queue that each
 * {@link FileLock.acquire} joins, first come first served. Only its head polls the file;
 * the next one starts when the head has released the lock. Without it, N requests of one
 * server contending for one lock each slept their own backoff (up to 250-500 ms) while the
 * lock sat free between holders: 64 pushes of one layer waited seconds to rename a file.
 */
const waiting = new Map<string, Promise<void>>();

/**
 * A lock between processes: a file created with `O_EXCL` (`open(path, 'wx')`) holding
 * its owner (host, pid, boot id, process start time and a random token). The holder keeps
 * the file open: release removes the path only while it still names that open file (the
 * same inode; while it is open, no other file can get its inode number), and the
 * heartbeat touches that file, never whatever else took its place.
 *
 * A lock is stale when its holder is dead: on this host that is decided from the
 * process (gone, rebooted since, or its pid reused by a later process), so a live holder
 * is never broken however long it holds the lock; a holder on another host is judged by
 * the file's age (it touches the file while it holds it). The next waiter breaks a stale
 * lock. Breaking is itself guarded by `PATH.break` (also `O_EXCL`), and the stale file is
 * re-read under it: two waiters that both saw the same stale lock cannot end with one of
 * them deleting the fresh lock the other just took.
 */
export class FileLock {
  private heartbeat: NodeJS.Timeout | undefined;
  private released = false;
  /** Lets this process's next waiter go (set by {@link FileLock.acquire}). */
  private onReleased: (() => void) | undefined;

  private constructor(
    /** The lock file. */
    readonly path: string,
    /** The token this holder wrote into the file. */
    readonly token: string,
    private readonly file: FileHandle,
    staleMs: number,
  ) {
    const now = () => new Date();
    this.heartbeat = setInterval(
      () => {
        file.utimes(now(), now()).catch(() => {});
      },
      Math.max(250, Math.floor(staleMs / 4)),
    );
    this.heartbeat.unref();
  }

  /** Take the lock if it is free (or stale); `undefined` when someone holds it. */
  static async tryAcquire(
    path: string,
    options: Omit<FileLockOptions, 'timeoutMs' | 'onWait'> = {},
  ): Promise<FileLock | undefined> {
    const staleMs = options.staleMs ?? 30_000;
    for (let attempt = 0; attempt < 3; attempt++) {
      const made = await FileLock.create(path);
      if (made) return new FileLock(path, made.token, made.file, staleMs);
      if (!(await FileLock.breakIfStale(path, staleMs))) return undefined;
    }
    return undefined;
  }

  /**
   * Wait for the lock and take it: behind this process's earlier waiters of the same file
   * (in order, no polling), then for other processes (backing off between attempts).
   */
  static async acquire(path: string, options: FileLockOptions = {}): Promise<FileLock> {
    const started = Date.now();
    const key = resolve(path);
    const ahead = waiting.get(key);
    let leave!: () => void;
    const turn = new Promise<void>((done) => {
      leave = done;
    });
    // The next waiter goes once every earlier one has gone and this one has left.
    const tail = (ahead ?? Promise.resolve()).then(() => turn);
    waiting.set(key, tail);
    void tail.then(() => {
      if (waiting.get(key) === tail) waiting.delete(key);
    });
    try {
      if (ahead) await waitInLine(ahead, path, started, options);
      const lock = await FileLock.acquireFile(path, started, options);
      lock.onReleased = leave;
      return lock;
    } catch (err) {
      leave();
      throw err;
    }
  }

  /** Poll the file until it can be taken (this process's turn has come). */
  private static async acquireFile(
    path: string,
    started: number,
    options: FileLockOptions,
  ): Promise<FileLock> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const maxBackoff = options.maxBackoffMs ?? 250;
    let delay = 5;
    let waited = false;
    for (;;) {
      options.signal?.throwIfAborted();
      const lock = await FileLock.tryAcquire(path, options);
      if (lock) return lock;
      if (!waited) {
        waited = true;
        options.onWait?.((await readHolder(path))?.holder);
      }
      if (Date.now() - started > timeoutMs) {
        const holder = (await readHolder(path))?.holder;
        const who = holder ? ` (held by pid ${holder.pid} on ${holder.host})` : '';
        throw new StoreError(
          `timed out after ${timeoutMs} ms waiting for lock ${path}${who}`,
          path,
        );
      }
      await sleep(delay * (0.5 + Math.random()), undefined, { signal: options.signal });
      delay = Math.min(maxBackoff, delay * 1.6);
    }
  }

  /**
   * Remove the lock file if it is still this holder's (once; later calls do nothing).
   * A file that replaced it (someone judged this holder dead) is someone else's and stays.
   */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.heartbeat);
    try {
      const [mine, there] = await Promise.all([this.file.stat(), lstat(this.path)]);
      if (mine.ino === there.ino && mine.dev === there.dev) await unlink(this.path);
    } catch {
      // Gone already: nothing of ours to remove.
    } finally {
      await this.file.close().catch(() => {});
      this.onReleased?.();
    }
  }

  /** {@link FileLock.release}, for `await using lock = await FileLock.acquire(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /**
   * Create the lock file with a fresh owner record, kept open; undefined when it exists.
   */
  private static async create(
    path: string,
  ): Promise<{ token: string; file: FileHandle } | undefined> {
    let file: FileHandle;
    try {
      file = await open(path, 'wx');
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return undefined;
      throw storeFsError(err, path, 'create lock');
    }
    const owner = currentOwner();
    try {
      const holder: LockHolder = { ...owner, time: Date.now() };
      await file.write(JSON.stringify(holder));
    } catch (err) {
      await file.close().catch(() => {});
      await unlink(path).catch(() => {});
      throw storeFsError(err, path, 'write lock');
    }
    return { token: owner.token, file };
  }

  /** True when the lock at `path` was stale and is gone now (or was already gone). */
  private static async breakIfStale(path: string, staleMs: number): Promise<boolean> {
    const seen = await readHolder(path);
    if (!seen) return true;
    if (!(await FileLock.isStale(path, seen.holder, staleMs))) return false;
    const guard = `${path}.break`;
    const guarded = await FileLock.create(guard);
    if (!guarded) {
      // Another waiter is breaking it; a guard left by a crashed breaker is removed.
      const other = await readHolder(guard).catch(() => undefined);
      if (other && (await FileLock.isStale(guard, other.holder, 10_000))) {
        await unlink(guard).catch(() => {});
      }
      return false;
    }
    try {
      const again = await readHolder(path);
      if (again && again.text === seen.text) await unlink(path).catch(() => {});
      return true;
    } finally {
      await unlink(guard).catch(() => {});
      await guarded.file.close().catch(() => {});
    }
  }

  private static async isStale(
    path: string,
    holder: LockHolder | undefined,
    staleMs: number,
  ): Promise<boolean> {
    const state = holder ? ownerState(holder) : 'unknown';
    if (state !== 'unknown') return state === 'dead';
    const info = await stat(path).catch(() => undefined);
    return info !== undefined && Date.now() - info.mtimeMs > staleMs;
  }
}

/** Default of {@link FileLockOptions.timeoutMs}. */
const DEFAULT_TIMEOUT_MS = 120_000;

/**
 * Wait until `ahead` (this process's earlier waiters) has settled, within the caller's
 * timeout (counted from `started`) and signal.
 */
async function waitInLine(
  ahead: Promise<void>,
  path: string,
  started: number,
  options: FileLockOptions,
): Promise<void> {
  const { signal } = options;
  signal?.throwIfAborted();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      ahead,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new StoreError(
                `timed out after ${timeoutMs} ms waiting for lock ${path} (held by pid ${process.pid}: this process)`,
                path,
              ),
            ),
          Math.max(0, started + timeoutMs - Date.now()),
        );
        onAbort = () => reject(signal?.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
