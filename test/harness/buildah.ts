import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * `buildah ARGS...` with its storage in `root` (vfs, so no overlay mounts; chroot
 * isolation), nothing of the machine's own containers storage touched. Resolves to its
 * trimmed stdout.
 */
export function buildahIn(root: string): (...args: string[]) => Promise<string> {
  return async (...args) =>
    (
      await run(
        'buildah',
        [
          '--root',
          join(root, 'storage'),
          '--runroot',
          join(root, 'run'),
          '--storage-driver',
          'vfs',
          ...args,
        ],
        { maxBuffer: 16 << 20, env: { ...process.env, BUILDAH_ISOLATION: 'chroot' } },
      )
    ).stdout.trim();
}
