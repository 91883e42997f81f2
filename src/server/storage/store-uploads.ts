import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import {
  type FileHandle,
  mkdir,
  open,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type DigestAlgorithm, parseDigest } from '../../digest/index.js';
import { countDeadBuffers } from '../../node/dead-buffer-scavenge.js';
import { FileLock } from '../../store/index.js';
import {
  PositionalWriter,
  type WriteTarget,
  writeTargetFor,
} from '../../store/positional-writer.js';
import { feedSink } from '../../transport/body-sink.js';
import { type FileHash, FileHasher } from './file-hasher.js';
import type { UploadChunkOptions, UploadState } from './registry-storage.js';
import {
  blobTooLarge,
  chunkOutOfOrder,
  chunkTooLong,
  digestInvalid,
  uploadBusy,
  uploadUnknown,
} from './storage-error.js';

/** The hash of an upload kept between chunks, valid only for that file state. */
interface RunningHash {
  algorithm: DigestAlgorithm;
  /** Hashed on the hashing thread as the file grows. */
  hash: FileHash;
  /** The file state the hash covers; any other state means another process wrote. */
  offset: number;
  ino: number;
  mtimeNs: bigint;
}

/**
 * How an upload body reaches the file: the request's chunks as they are (each is memory
 * of its own: Node's HTTP parser copies it out of the socket buffer), at most 128 KiB of
 * them waiting for the writer, which gathers what waits into one `pwritev` (off tmpfs;
 * into tmpfs the writer's target writes each chunk before the sink returns, so nothing
 * waits). Copying them
 * into staging buffers first (2 of 64 KiB; the default 4 of 256 KiB held 64 MB for 64
 * concurrent pushes) was a memcpy of every byte for nothing the writer does not do itself.
 */
const UPLOAD_FEED = { maxBytesInSink: 128 * 1024 };

/** Hashes kept for at most this many uploads; past it the oldest is re-hashed from disk. */
const MAX_RUNNING_HASHES = 4096;

/** A finished upload: its file, ready to be renamed into `blobs/`, and what it holds. */
export interface FinishedUpload {
  path: string;
  digest: string;
  size: number;
  /** Release the session's lock and remove its folder (after the file was adopted). */
  dispose(): Promise<void>;
}

/**
 * Chunked uploads of a store-backed registry: `.ocipeek/uploads/ID/` holds `info.json`
 * (the repository) and `data` (the bytes so far; its size is the offset). Everything is
 * on disk, so any process serving the store continues a session another one started.
 *
 * One writer at a time per session: a lock file `locks/upload-ID.lock`, taken without
 * waiting; a second request on a busy session is refused (`busy`) with the offset.
 *
 * Verifying at completion: Node cannot save a sha256 state, so a process keeps the hash
 * of the chunks it wrote, tied to the file's inode, size and mtime after its last write.
 * The hash is computed on a thread of its own ({@link FileHasher}), which reads the file
 * back as it grows. When the same process finishes the upload and the file is as it left
 * it, that hash is the digest; otherwise (another process wrote a chunk, this one
 * restarted, or the client asks for another algorithm) the file is hashed from disk,
 * once, on that thread too.
 */
export class StoreUploads {
  private readonly running = new Map<string, RunningHash>();

  constructor(
    /** `.ocipeek/uploads`. */
    readonly dir: string,
    private readonly locksDir: string,
    private readonly maxBlobBytes: number | undefined,
  ) {}

  private sessionDir(id: string): string {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw uploadUnknown(id);
    return join(this.dir, id);
  }

  /** Start a session for `name`. */
  async start(name: string): Promise<UploadState> {
    const id = randomUUID();
    const dir = join(this.dir, id);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'info.json'), JSON.stringify({ repository: name }));
    await writeFile(join(dir, 'data'), '');
    return { id, repository: name, offset: 0 };
  }

  /** Where session `id` of `name` stands. */
  async state(name: string, id: string): Promise<UploadState | undefined> {
    const dir = this.sessionDir(id);
    const repository = await this.repositoryOf(dir);
    if (repository !== name) return undefined;
    const info = await stat(join(dir, 'data')).catch(() => undefined);
    return info && { id, repository, offset: info.size };
  }

  /** Append `chunk` to session `id` of `name`. */
  async append(
    name: string,
    id: string,
    chunk: Readable,
    options: UploadChunkOptions = {},
  ): Promise<UploadState> {
    const lock = await this.lock(name, id);
    try {
      const offset = await this.write(id, chunk, options);
      return { id, repository: name, offset };
    } finally {
      await lock.release();
    }
  }

  /**
   * Append the optional last chunk, verify the whole against `digest` and hand back the
   * file (the lock stays held until `dispose`). A mismatch ends the session and rejects
   * with a `digest-invalid` `RegistryStorageError`.
   */
  async finish(
    name: string,
    id: string,
    digest: string,
    chunk: Readable | undefined,
    options: UploadChunkOptions = {},
  ): Promise<FinishedUpload> {
    const { algorithm, hex } = parseDigest(digest);
    const lock = await this.lock(name, id);
    const dir = this.sessionDir(id);
    const dispose = async () => {
      this.forget(id);
      await rm(dir, { recursive: true, force: true });
      await lock.release();
    };
    try {
      const size = chunk
        ? await this.write(id, chunk, options)
        : (await stat(join(dir, 'data'))).size;
      const actual = await this.digestOf(id, algorithm, options.signal);
      if (actual !== hex) {
        await dispose();
        throw digestInvalid(digest, algorithm, actual);
      }
      return { path: join(dir, 'data'), digest, size, dispose };
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /** Cancel session `id` of `name`; false when there was none. */
  async cancel(name: string, id: string): Promise<boolean> {
    const dir = this.sessionDir(id);
    if ((await this.repositoryOf(dir)) !== name) return false;
    const lock = await this.lock(name, id);
    try {
      this.forget(id);
      await rm(dir, { recursive: true, force: true });
      return true;
    } finally {
      await lock.release();
    }
  }

  /**
   * Remove sessions untouched for `maxIdleMs` (their data file's mtime) that nobody is
   * writing; returns how many went and their bytes.
   */
  async expire(maxIdleMs: number, dryRun = false): Promise<{ removed: number; bytes: number }> {
    const out = { removed: 0, bytes: 0 };
    const now = Date.now();
    for (const id of await readdir(this.dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f-]{36}$/.test(id)) continue;
      const dir = join(this.dir, id);
      const info = await stat(join(dir, 'data')).catch(() => stat(dir).catch(() => undefined));
      if (!info || now - info.mtimeMs < maxIdleMs) continue;
      const lock = await FileLock.tryAcquire(this.lockPath(id));
      if (!lock) continue;
      try {
        if (!dryRun) await rm(dir, { recursive: true, force: true });
        this.forget(id);
        out.removed++;
        out.bytes += info.isFile() ? info.size : 0;
      } finally {
        await lock.release();
      }
    }
    return out;
  }

  private lockPath(id: string): string {
    return join(this.locksDir, `upload-${id}.lock`);
  }

  private async repositoryOf(dir: string): Promise<string | undefined> {
    try {
      const info = JSON.parse(await readFile(join(dir, 'info.json'), 'utf8')) as {
        repository?: unknown;
      };
      return typeof info.repository === 'string' ? info.repository : undefined;
    } catch {
      return undefined;
    }
  }

  /** Take the session's lock, or refuse: unknown session, or busy (with its offset). */
  private async lock(name: string, id: string): Promise<FileLock> {
    const dir = this.sessionDir(id);
    if ((await this.repositoryOf(dir)) !== name) throw uploadUnknown(id);
    const lock = await FileLock.tryAcquire(this.lockPath(id));
    if (!lock) {
      const offset = (await stat(join(dir, 'data')).catch(() => undefined))?.size ?? 0;
      throw uploadBusy(id, offset);
    }
    if ((await this.repositoryOf(dir)) !== name) {
      await lock.release();
      throw uploadUnknown(id); // cancelled or finished while the lock was taken
    }
    return lock;
  }

  /** Write `chunk` at the end of the session's data (lock held); returns the new size. */
  private async write(id: string, chunk: Readable, options: UploadChunkOptions): Promise<number> {
    const path = join(this.sessionDir(id), 'data');
    let file: FileHandle;
    let target: WriteTarget;
    try {
      // The target of the uploads folder, not of the session's: asked once per folder.
      [file, target] = await Promise.all([
        open(path, constants.O_RDWR | constants.O_NOFOLLOW),
        writeTargetFor(this.dir),
      ]);
    } catch {
      throw uploadUnknown(id);
    }
    try {
      const before = await file.stat({ bigint: true });
      const offset = Number(before.size);
      if (options.start !== undefined && options.start !== offset) {
        chunk.resume(); // discard it: nothing of an out-of-order chunk is kept
        throw chunkOutOfOrder(id, options.start, offset);
      }
      const known = this.running.get(id);
      const running =
        known &&
        known.offset === offset &&
        known.ino === Number(before.ino) &&
        known.mtimeNs === before.mtimeNs
          ? known
          : offset === 0
            ? {
                algorithm: 'sha256' as const,
                hash: FileHasher.shared.open(path, 'sha256'),
                offset,
                ino: 0,
                mtimeNs: 0n,
              }
            : undefined;
      if (known && known !== running) known.hash.discard();
      this.running.delete(id);
      // How to write is the folder's target's decision, as for every blob writer. Into
      // tmpfs that is on this thread although the chunks here are fresh memory (no read
      // buffer to free early, the gain the rule was first measured for): a pool round
      // trip per chunk of at most 64 KiB cost more than the copy; app push into tmpfs,
      // server CPU -19 % (bench/ANALYSIS.md, hone, twelfth session); the +11 MB of peak
      // RSS it cost were dead chunks waiting for a scavenge, see countDeadBuffers (hup).
      const writer = new PositionalWriter(file, offset, {
        target,
        onWritten: running && ((position) => running.hash.extend(position)),
      });
      const cap = this.maxBlobBytes;
      const length = options.length;
      let failed = false;
      try {
        await feedSink(
          chunk,
          (piece) => {
            const end = writer.position + piece.length;
            if (cap !== undefined && end > cap) {
              throw blobTooLarge(cap);
            }
            if (length !== undefined && end - offset > length) {
              throw chunkTooLong(length, offset);
            }
            const written = writer.write(piece);
            // Written on this thread (tmpfs), the chunk is Node's copy and dead now:
            // counted, so a server that asked for it scavenges them every few MiB (see
            // scavengeEvery). A chunk handed to the pool is still held by its write, and
            // a scavenge then would only promote it; the pool's promises bring scavenges
            // on that path anyway (bench/ANALYSIS.md, hup).
            if (written === undefined) countDeadBuffers(piece.length);
            return written;
          },
          options.signal,
          UPLOAD_FEED,
        );
      } catch (err) {
        failed = true;
        throw err;
      } finally {
        // What reached the file stays: the client asks for the offset and resumes. A
        // broken chunk's hash no longer matches the file, so it is dropped.
        if (failed) running?.hash.discard();
        else if (running) {
          const after = await file.stat({ bigint: true });
          running.offset = Number(after.size);
          running.ino = Number(after.ino);
          running.mtimeNs = after.mtimeNs;
          this.remember(id, running);
        }
      }
      return writer.position;
    } finally {
      await file.close().catch(() => {});
    }
  }

  private remember(id: string, running: RunningHash): void {
    this.running.set(id, running);
    while (this.running.size > MAX_RUNNING_HASHES) {
      this.forget(this.running.keys().next().value as string);
    }
  }

  /** Drop session `id`'s running hash, if any. */
  private forget(id: string): void {
    this.running.get(id)?.hash.discard();
    this.running.delete(id);
  }

  /** The hex digest of the session's data: the running hash if still valid, else from disk. */
  private async digestOf(
    id: string,
    algorithm: DigestAlgorithm,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const path = join(this.sessionDir(id), 'data');
    const info = await stat(path, { bigint: true });
    const known = this.running.get(id);
    this.running.delete(id);
    signal?.throwIfAborted();
    const size = Number(info.size);
    if (
      known &&
      known.algorithm === algorithm &&
      known.offset === size &&
      known.ino === Number(info.ino) &&
      known.mtimeNs === info.mtimeNs
    ) {
      return known.hash.digest(size);
    }
    known?.hash.discard();
    return FileHasher.shared.open(path, algorithm).digest(size);
  }
}
