import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, parseDigest } from '../digest/index.js';
import { DigestMismatchError, type OcipeekError, SizeMismatchError } from '../errors/index.js';
import type { Descriptor } from '../media/index.js';
import { FileLock } from './file-lock.js';
import { errnoCode, storeFsError } from './fs-errors.js';

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
 * Crash safety: bytes go to the `.partial` file; only after the size and digest checked out
 * is it renamed into `blobs/ALG/HEX` (rename is atomic), so a blob file is always whole.
 * A resumed download hashes the kept prefix first; if the result does not match (the
 * prefix was bad) the partial is discarded and the blob fetched once more from byte 0.
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
  if ((await sizeOf(finalPath)) === size) return none;
  const lockPath = join(paths.locksDir, `blob-${algorithm}-${hex}.lock`);
  const lock = await FileLock.acquire(lockPath, {
    signal: options.signal,
    timeoutMs: 24 * 3600_000, // a big layer on a slow link; a dead holder is detected anyway
    maxBackoffMs: 500,
    onWait: () => options.onWait?.(),
  });
  const partial = join(paths.tmpDir, `${algorithm}-${hex}.partial`);
  try {
    const opener = typeof source === 'function' ? source : undefined;
    // Both looked at together: one round trip to the thread pool instead of two.
    const [stored, kept] = await Promise.all([
      sizeOf(finalPath),
      opener ? sizeOf(partial) : undefined,
    ]);
    if (stored === size) return none;
    let offset = kept ?? 0;
    if (offset > size) offset = 0;
    let transferred = 0;
    const resumedFrom = offset;
    for (let attempt = 0; ; attempt++) {
      const hash = offset > 0 || !options.sourceVerified ? createDigester(algorithm) : undefined;
      if (offset > 0 && hash) await hashPrefix(partial, offset, hash, options.signal);
      const stream = opener ? await opener(offset, options.signal) : (source as Readable);
      let position = offset;
      const output = createWriteStream(partial, {
        flags: offset > 0 ? 'a' : 'w',
        highWaterMark: 16 << 20,
        flush: options.durable ?? false,
      });
      const done = pipeline(stream, output, { signal: options.signal });
      stream.on('data', (chunk: Buffer) => {
        hash?.update(chunk);
        position += chunk.length;
        transferred += chunk.length;
        options.onProgress?.(position);
      });
      await done;
      let problem: OcipeekError | undefined;
      if (position !== size) problem = new SizeMismatchError(digest, size, position);
      else if (hash) {
        const actual = `${algorithm}:${hash.digest('hex')}`;
        if (actual !== digest) problem = new DigestMismatchError(digest, actual, 'blob');
      }
      if (!problem) break;
      await unlink(partial).catch(() => {});
      // Only a resumed prefix may be at fault; a fresh download that fails is final.
      if (offset === 0 || !opener || attempt > 0) throw problem;
      offset = 0;
    }
    await mkdir(dirname(finalPath), { recursive: true });
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
    await lock.release();
  }
}

async function hashPrefix(
  path: string,
  length: number,
  hash: ReturnType<typeof createDigester>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const input = createReadStream(path, {
    start: 0,
    end: length - 1,
    highWaterMark: 1 << 20,
    signal,
  });
  for await (const chunk of input) hash.update(chunk as Buffer);
}
