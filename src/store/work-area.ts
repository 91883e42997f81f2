import { lstat, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from './fs-errors.js';

/** The folder of a layout where ocipeek keeps its temp files, locks and pins. */
export function workAreaOf(dir: string): string {
  return join(dir, '.ocipeek');
}

/** Whether `dir` already has ocipeek's work area (an ocipeek store, or one in use). */
export async function hasWorkArea(dir: string): Promise<boolean> {
  try {
    await lstat(workAreaOf(dir));
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
    throw err;
  }
}

/**
 * Remove `.ocipeek/` from a layout ocipeek only wrote into (an `oci:DIR` copy
 * destination), so someone else's layout is left holding the image and nothing else.
 * Only while nothing in it is in use: a running copy into the same layout holds a pin
 * from its first look at the layout to its commit, a blob being written a temp file and
 * a lock. Each folder is removed only when empty, so what another writer holds stays.
 * Returns whether the work area is gone.
 */
export async function removeIdleWorkArea(dir: string): Promise<boolean> {
  const area = workAreaOf(dir);
  for (const sub of ['pins', 'tmp', 'locks']) {
    if (!(await removeEmptyDir(join(area, sub)))) return false;
  }
  try {
    await unlink(join(area, 'version'));
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  return removeEmptyDir(area);
}

/** `rmdir`: true when the folder is gone (or was), false when something is in it. */
async function removeEmptyDir(path: string): Promise<boolean> {
  try {
    await rmdir(path);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return true;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw err;
  }
}
