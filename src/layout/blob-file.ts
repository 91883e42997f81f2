import { close, constants, fstat, lstat, open, read } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseDigest } from '../digest/index.js';
import { NotFoundError } from '../errors/index.js';

const openAsync = promisify(open);
const fstatAsync = promisify(fstat);
const lstatAsync = promisify(lstat);
const closeAsync = promisify(close);
const readAsync = promisify(read);

/**
 * `O_NOFOLLOW`: a symbolic link as the last component fails (`ELOOP`) instead of being
 * followed. `O_NONBLOCK`: a FIFO planted as a blob must not block the open; it is then
 * refused as not a regular file.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Which file a blob was read from, and in which state (for "verified once" caches). */
export interface BlobFileIdentity {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  /** Changes on every write and cannot be set back by a user, unlike the mtime. */
  ctimeNs: bigint;
}

/** A blob file opened by {@link openBlobFile}: its numeric fd, owned by the caller. */
export interface OpenedBlobFile {
  fd: number;
  size: number;
  identity: BlobFileIdentity;
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The error for a blob path that holds something other than a regular file of the
 * layout: a symbolic link (a plain `tar -x` of an untrusted archive makes them), a
 * folder, a device, a FIFO, or a `blobs/` folder that is itself a link leading out.
 */
export function refusedBlob(dir: string, digest: string, what: string): NotFoundError {
  return new NotFoundError(
    `blob ${digest} in layout ${dir} is ${what}, not a regular file inside the layout; refusing to read it`,
    'BLOB_UNKNOWN',
  );
}

/**
 * Open blob `digest` of the layout at `dir` for reading, only if it is a regular file
 * inside the layout: the file is opened without following a symbolic link, and after the
 * open, `blobs/` and `blobs/ALG/` must be real folders (not links) and the path must
 * still name the opened inode. Checking after the open closes the race with a link swapped
 * in and out: the fd is what gets read, and it is proven to be the file at that path.
 *
 * Returns `undefined` when there is no such file; throws {@link refusedBlob} when there
 * is something that is not a blob file. The caller owns the fd (close it, or hand it to a
 * stream that closes it).
 */
export async function openBlobFile(
  dir: string,
  digest: string,
): Promise<OpenedBlobFile | undefined> {
  const { algorithm, hex } = parseDigest(digest);
  const blobs = join(dir, 'blobs');
  const folder = join(blobs, algorithm);
  const path = join(folder, hex);
  let fd: number;
  try {
    fd = await openAsync(path, OPEN_FLAGS);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') throw refusedBlob(dir, digest, 'a symbolic link');
    throw err;
  }
  try {
    const [info, blobsInfo, folderInfo, pathInfo] = await Promise.all([
      fstatAsync(fd, { bigint: true }),
      lstatAsync(blobs, { bigint: true }),
      lstatAsync(folder, { bigint: true }),
      lstatAsync(path, { bigint: true }),
    ]);
    if (!info.isFile()) throw refusedBlob(dir, digest, 'not a regular file');
    if (!blobsInfo.isDirectory() || !folderInfo.isDirectory()) {
      throw refusedBlob(dir, digest, 'reached through a symbolic link');
    }
    if (pathInfo.dev !== info.dev || pathInfo.ino !== info.ino) {
      throw refusedBlob(dir, digest, 'reached through a symbolic link');
    }
    return {
      fd,
      size: Number(info.size),
      identity: {
        dev: info.dev,
        ino: info.ino,
        size: info.size,
        mtimeNs: info.mtimeNs,
        ctimeNs: info.ctimeNs,
      },
    };
  } catch (err) {
    await closeAsync(fd).catch(() => {});
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') {
      throw refusedBlob(dir, digest, 'reached through a symbolic link');
    }
    throw err;
  }
}

/**
 * The first `size` bytes of an opened blob file (fewer if it shrank meanwhile: the
 * caller's digest check catches that, and any rewrite).
 */
export async function readBlobFile(file: OpenedBlobFile, signal?: AbortSignal): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(file.size);
  let done = 0;
  while (done < file.size) {
    signal?.throwIfAborted();
    const { bytesRead: n } = await readAsync(file.fd, bytes, done, file.size - done, done);
    if (n === 0) break;
    done += n;
  }
  return bytes.subarray(0, done);
}

/** Close an fd from {@link openBlobFile} (errors ignored: it was only read). */
export function closeBlobFile(fd: number): Promise<void> {
  return closeAsync(fd).catch(() => {});
}

/**
 * The size of blob `digest` when it is a regular file at its path (a symbolic link is
 * not followed and counts as absent), else `undefined`. A cheap check for "is it there";
 * reading goes through {@link openBlobFile}, which also checks the folders.
 */
export async function blobFileSize(dir: string, digest: string): Promise<number | undefined> {
  const { algorithm, hex } = parseDigest(digest);
  try {
    const info = await lstatAsync(join(dir, 'blobs', algorithm, hex));
    return info.isFile() ? info.size : undefined;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}
