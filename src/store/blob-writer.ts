import { constants } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { createDigester, parseDigest } from '../digest/index.js';
import {
  DigestMismatchError,
  type OcipeekError,
  RegistryError,
  SizeMismatchError,
  StoreError,
} from '../errors/index.js';
import type { Descriptor } from '../media/index.js';
import { feedSink } from '../transport/body-sink.js';
import { DirectWriter, wantsDirectWrites } from './direct-writer.js';
import { FileLock } from './file-lock.js';
import { errnoCode, storeFsError } from './fs-errors.js';
import { PositionalWriter, writeTargetFor } from './positional-writer.js';

/**
 * Where blob bytes come from: a stream, or a function that opens the blob at a byte
 * offset (so an interrupted download can resume from its `.partial` file).
 */
export type BlobSource = Readable | ((offset: number, signal?: AbortSignal) => Promise<Readable>);

/** Options of {@link writeBlobFile}. */
export interface WriteBlobOptions {
  /** Cancels the write; the `.partial` file is kept so a later write resumes. */
  signal?: AbortSignal;
  /**
   * The stream opened at offset 0 verifies digest and size itself and errors before its
   * end on a mismatch (as `RegistryClient.openBlob` does), so it is not hashed again.
   * Resumed streams are always hashed here, prefix included. Default false.
   */
  sourceVerified?: boolean;
  /** Called as bytes land: bytes of the blob on disk so far (resumed prefix included). */
  onProgress?: (bytes: number) => void;
  /** Called once when another process is writing the same blob and this one waits. */
  onWait?: () => void;
  /** fsync the blob before renaming it into place (default false; see the store notes). */
  durable?: boolean;
  /**
   * The caller has just found the blob missing from `blobs/`: the look before taking the
   * lock is skipped (one thread-pool round trip); it is looked for again under the lock.
   */
  absent?: boolean;
}

/** What {@link writeBlobFile} did. */
export interface WriteBlobResult {
  digest: string;
  size: number;
  /** False when the blob was already stored (or another process stored it meanwhile). */
  written: boolean;
  /** Bytes read from the source by this call. */
  bytesTransferred: number;
  /** Bytes of an earlier `.partial` download that were kept (0 when none). */
  resumedFrom: number;
}

/** Store folders a blob write needs. */
export interface BlobPaths {
  blobPath(digest: string): string;
  tmpDir: string;
  locksDir: string;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : undefined;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Write one blob into the store, verified, crash-safe and shared between processes.
 *
 * Concurrency: a per-blob lock (`locks/blob-ALG-HEX.lock`) makes one process the writer;
 * another that wants the same blob waits for the lock and then finds the blob stored (it
 * downloads nothing). The lock is what lets the temp file have a fixed name,
 * `tmp/ALG-HEX.partial`, which a later run finds and resumes after a crash: tolerating two
 * writers would need unique temp names and throw that resumability away.
 *
 * Crash safety: bytes go to the `.partial` file; only after the file checked out is it
 * renamed into `blobs/ALG/HEX` (rename is atomic), so a blob file is always whole. A kept
 * partial is resumed from its length (a `Range` request); a complete one is hashed and
 * renamed without fetching anything; a registry that answers the resume with 416, or a
 * partial whose bytes do not hash right, sends the blob back to byte 0 once.
 *
 * What is checked before the rename, and why it is enough without reading the file back:
 * the writer owns the fd it writes through and writes every chunk at its own position
 * (`pwrite`, never `O_APPEND`), so the bytes hashed, in order, are the bytes at positions
 * offset..size-1; a resumed prefix 0..offset-1 is read back through the same fd and
 * hashed first; `fstat` of that fd must give exactly `size`, so nothing lies past the
 * end; and the path renamed must still be that fd's inode. The blob lock (owned by token,
 * never judged stale while its holder lives) keeps every other ocipeek writer off the
 * file, so what was hashed is what is on disk. Re-reading a freshly written file would
 * only catch another program scribbling on `.ocipeek/tmp` meanwhile or a failing disk
 * (`validate` hashes everything), at the price of hashing every pull twice.
 *
 * Durability: by default blobs are not fsync'd. A killed process loses nothing that
 * reached the kernel; only a power cut could leave a renamed blob with missing data, and
 * `validate()` finds that. `durable: true` syncs first (it costs about the time the disk
 * needs to write the blob out, measured in the pull notes).
 */
export async function writeBlobFile(
  paths: BlobPaths,
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
  source: BlobSource,
  options: WriteBlobOptions = {},
): Promise<WriteBlobResult> {
  const { digest, size } = descriptor;
  const { algorithm, hex } = parseDigest(digest);
  const finalPath = paths.blobPath(digest);
  const none = { digest, size, written: false, bytesTransferred: 0, resumedFrom: 0 };
  if (!options.absent && (await sizeOf(finalPath)) === size) return none;
  const lock = await lockBlob(paths, digest, options);
  const partial = join(paths.tmpDir, `${algorithm}-${hex}.partial`);
  let file: FileHandle | undefined;
  try {
    const opener = typeof source === 'function' ? source : undefined;
    // All at once: one round trip to the thread pool instead of several. The partial's
    // length can be read beside the open: under the blob lock no other writer changes it
    // (a missing one is made empty by the open).
    const [stored, opened, target, partialSize] = await Promise.all([
      sizeOf(finalPath),
      open(partial, constants.O_RDWR | constants.O_CREAT, 0o644),
      writeTargetFor(paths.tmpDir),
      sizeOf(partial),
    ]);
    const { maxWriteBytes } = target;
    file = opened;
    const kept = partialSize ?? 0;
    if (stored === size) {
      // Stored by another process while this one waited; drop the empty file just made.
      if (kept === 0) await unlink(partial).catch(() => {});
      return none;
    }
    // A stream cannot start in the middle; a partial longer than the blob is not its prefix.
    let offset = opener && kept <= size ? kept : 0;
    if (offset !== kept) await file.truncate(offset);
    let transferred = 0;
    const resumedFrom = offset;
    let written: Awaited<ReturnType<FileHandle['stat']>>;
    let there: Awaited<ReturnType<typeof lstat>>;
    for (let attempt = 0; ; attempt++) {
      const hash = offset > 0 || !options.sourceVerified ? createDigester(algorithm) : undefined;
      if (offset > 0 && hash) await hashPrefix(file, offset, hash, options.signal);
      let position = offset;
      // A stream source is always read to its end (extra bytes are a size mismatch).
      if (offset < size || !opener) {
        let stream: Readable;
        try {
          stream = opener ? await opener(offset, options.signal) : (source as Readable);
        } catch (err) {
          // 416: the registry holds fewer bytes than the partial (not this blob's prefix).
          if (offset === 0 || !isRangeNotSatisfiable(err) || attempt > 0) throw err;
          offset = 0;
          await file.truncate(0);
          continue;
        }
        const onWritten = (at: number) => options.onProgress?.(at);
        // A big blob to a disk: O_DIRECT, no page cache (direct-writer.ts says why).
        const direct =
          !target.onTmpfs && wantsDirectWrites(size, offset)
            ? await DirectWriter.open(file, offset, { hash, maxWriteBytes, onWritten })
            : undefined;
        // On tmpfs each piece is written before the sink returns (positional-writer.ts says why).
        const synchronous = target.onTmpfs;
        const output =
          direct ??
          new PositionalWriter(file, offset, { hash, maxWriteBytes, onWritten, synchronous });
        try {
          await feedSink(stream, output.write, options.signal);
          await direct?.finish();
        } finally {
          await direct?.close();
        }
        position = output.position;
        transferred += position - offset;
      }
      [written, there] = await Promise.all([file.stat(), lstat(partial)]);
      const onDisk = written.size;
      let problem: OcipeekError | undefined;
      if (position !== size || onDisk !== size) {
        problem = new SizeMismatchError(digest, size, position !== size ? position : onDisk);
      } else if (hash) {
        const actual = `${algorithm}:${hash.digest('hex')}`;
        if (actual !== digest) problem = new DigestMismatchError(digest, actual, 'blob');
      }
      if (!problem) break;
      await file.truncate(0);
      // Only a resumed prefix may be at fault; a fresh download that fails is final.
      if (offset === 0 || !opener || attempt > 0) throw problem;
      offset = 0;
    }
    if (options.durable) await file.sync();
    await mkdir(dirname(finalPath), { recursive: true });
    if (written.ino !== there.ino || written.dev !== there.dev) {
      throw new StoreError(`${partial} was replaced while this process wrote it`, partial);
    }
    await rename(partial, finalPath);
    return { digest, size, written: true, bytesTransferred: transferred, resumedFrom };
  } catch (err) {
    const mapped = storeFsError(err, partial, 'write blob');
    // A bad blob or a full disk leaves nothing behind; a broken connection or an abort
    // keeps the partial file for the next run to resume.
    if (mapped !== err || err instanceof DigestMismatchError || err instanceof SizeMismatchError) {
      await unlink(partial).catch(() => {});
    }
    throw mapped;
  } finally {
    await file?.close().catch(() => {});
    await lock.release();
  }
}

/** Take blob `digest`'s lock: one writer of a blob at a time, across processes. */
function lockBlob(
  paths: BlobPaths,
  digest: string,
  options: { signal?: AbortSignal; onWait?: () => void },
): Promise<FileLock> {
  const { algorithm, hex } = parseDigest(digest);
  return FileLock.acquire(join(paths.locksDir, `blob-${algorithm}-${hex}.lock`), {
    signal: options.signal,
    timeoutMs: 24 * 3600_000, // a big layer on a slow link; a dead holder is detected anyway
    maxBackoffMs: 500,
    onWait: () => options.onWait?.(),
  });
}

function isRangeNotSatisfiable(err: unknown): boolean {
  return err instanceof RegistryError && err.status === 416;
}

/** Hash bytes 0..length-1 of `file`, read back from disk through the writer's own fd. */
async function hashPrefix(
  file: FileHandle,
  length: number,
  hash: ReturnType<typeof createDigester>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(length, 1 << 20));
  for (let position = 0; position < length; ) {
    signal?.throwIfAborted();
    const want = Math.min(buffer.length, length - position);
    const { bytesRead } = await file.read(buffer, 0, want, position);
    if (bytesRead === 0) throw new SizeMismatchError('partial download', length, position);
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

/** Options of {@link adoptBlobFile}. */
export interface AdoptBlobOptions {
  signal?: AbortSignal;
  /**
   * The caller hashed exactly this file's bytes, through its own fd, and they matched
   * (a registry upload written and hashed by one process): the file is not read again.
   * Default false: the file is hashed here before it becomes visible.
   */
  verified?: boolean;
}

/**
 * Make the file at `path` (inside the store's file system, e.g. a finished registry
 * upload) blob `descriptor` by renaming it into `blobs/`, under the blob's lock so that
 * it never races {@link writeBlobFile} or another adoption of the same blob. Nothing is
 * copied. The file must be a regular file of exactly the blob's size and, unless
 * `verified`, hash to its digest; otherwise it is removed and the call rejects with
 * `SizeMismatchError` or `DigestMismatchError`. When the blob is already stored the file
 * is removed and the result is false.
 */
export async function adoptBlobFile(
  paths: BlobPaths,
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
  path: string,
  options: AdoptBlobOptions = {},
): Promise<boolean> {
  const { digest, size } = descriptor;
  const { algorithm } = parseDigest(digest);
  const finalPath = paths.blobPath(digest);
  const lock = await lockBlob(paths, digest, options);
  let file: FileHandle | undefined;
  try {
    if ((await sizeOf(finalPath)) === size) {
      await unlink(path).catch(() => {});
      return false;
    }
    file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const info = await file.stat();
    if (!info.isFile() || info.size !== size) {
      throw new SizeMismatchError(digest, size, info.size);
    }
    if (!options.verified) {
      const hash = createDigester(algorithm);
      await hashPrefix(file, size, hash, options.signal);
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (actual !== digest) throw new DigestMismatchError(digest, actual, 'blob');
    }
    const there = await lstat(path);
    if (there.ino !== info.ino || there.dev !== info.dev) {
      throw new StoreError(`${path} was replaced while it was checked`, path);
    }
    await mkdir(dirname(finalPath), { recursive: true });
    await rename(path, finalPath);
    return true;
  } catch (err) {
    if (err instanceof DigestMismatchError || err instanceof SizeMismatchError) {
      await unlink(path).catch(() => {});
    }
    throw storeFsError(err, finalPath, 'store blob');
  } finally {
    await file?.close().catch(() => {});
    await lock.release();
  }
}
