import { unlink } from 'node:fs/promises';
import { StoreError } from '../errors/index.js';

/** errno codes that mean "the store cannot be written here", each with a clear phrase. */
const STORE_FS_REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a file is in the way of a folder',
};

/** The errno code of a Node fs error, if any. */
export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Turn a disk-full or permission error into a {@link StoreError} that names `path` and
 * what was being done; any other error is returned as is.
 */
export function storeFsError(err: unknown, path: string, action: string): unknown {
  const code = errnoCode(err);
  const phrase = code ? STORE_FS_REASONS[code] : undefined;
  if (!phrase) return err;
  return new StoreError(`cannot ${action} ${path}: ${phrase} (${code})`, path, code, {
    cause: err,
  });
}

/** Remove the file at `path`; false when there was none. */
export async function removeFile(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}
