import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const pending = new Set<string>();
let hooked = false;

/** A fresh temp folder and a way to remove it. */
export interface TempDir {
  path: string;
  /** Remove the folder and everything in it. */
  remove(): Promise<void>;
}

/**
 * Make a temp folder (`$TMPDIR/ocipeek-PREFIX-XXXXXX`). It is removed by `remove()` or,
 * failing that, when the process exits.
 */
export async function tempDir(prefix = 'test'): Promise<TempDir> {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const dir of pending) rmSync(dir, { recursive: true, force: true });
    });
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), `ocipeek-${prefix}-`));
  pending.add(dir);
  return {
    path: dir,
    async remove() {
      await rm(dir, { recursive: true, force: true });
      pending.delete(dir);
    },
  };
}
