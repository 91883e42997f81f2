import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * `podman ARGS...` with all its state in `root` (storage, run root, libpod's tmp dir; vfs,
 * so no overlay mounts; cgroupfs and no events journal, so no systemd is needed), nothing
 * of the machine's own containers storage touched. Resolves to its trimmed stdout.
 */
export function podmanIn(root: string): (...args: string[]) => Promise<string> {
  return async (...args) =>
    (
      await run(
        'podman',
        [
          '--root',
          join(root, 'storage'),
          '--runroot',
          join(root, 'run'),
          '--tmpdir',
          join(root, 'tmp'),
          '--storage-driver',
          'vfs',
          '--cgroup-manager',
          'cgroupfs',
          '--events-backend',
          'none',
          ...args,
        ],
        { maxBuffer: 16 << 20 },
      )
    ).stdout.trim();
}
