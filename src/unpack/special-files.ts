import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/*
 * Node has no mknod, mkfifo or setxattr. Images rarely hold fifos or device nodes (and
 * xattrs are uncommon outside file capabilities), so spawning the coreutils commands for
 * them, or one python3 process for all xattrs, costs nothing measurable and needs no
 * native addon. Paths handed over are absolute (no option injection) and their parents are
 * real directories unpack created; the last component does not exist (mkfifo/mknod fail
 * with EEXIST on anything there, symlinks included).
 */

const run = promisify(execFile);

/** Create a fifo with exactly `mode` (no umask). */
export async function makeFifo(abs: string, mode: number, signal?: AbortSignal): Promise<void> {
  await run('mkfifo', ['-m', (mode & 0o7777).toString(8), '--', abs], { signal });
}

/** Create a character or block device (root only). */
export async function makeDevice(
  abs: string,
  type: 'char' | 'block',
  mode: number,
  major: number,
  minor: number,
  signal?: AbortSignal,
): Promise<void> {
  const args = ['-m', (mode & 0o7777).toString(8), '--', abs, type === 'char' ? 'c' : 'b'];
  await run('mknod', [...args, String(major), String(minor)], { signal });
}

/** One extended attribute to set (value as a latin1 string of raw bytes). */
export interface XattrItem {
  abs: string;
  name: string;
  value: string;
}

const SETXATTR_PY = `
import base64, json, os, sys
for line in sys.stdin:
    p, n, v = json.loads(line)
    try:
        os.setxattr(p, n, base64.b64decode(v), follow_symlinks=False)
    except OSError as e:
        print(json.dumps([p, n, e.strerror]), flush=True)
`;

/**
 * Set extended attributes without following symlinks, through one `python3` process.
 * Returns one message per attribute that could not be set (or one for all when python3 is
 * missing); never throws for a failed attribute.
 */
export async function setXattrs(
  items: readonly XattrItem[],
  signal?: AbortSignal,
): Promise<string[]> {
  if (items.length === 0) return [];
  const input = items
    .map((i) => JSON.stringify([i.abs, i.name, Buffer.from(i.value, 'latin1').toString('base64')]))
    .join('\n');
  try {
    const child = run('python3', ['-c', SETXATTR_PY], { signal, maxBuffer: 64 << 20 });
    child.child.stdin?.end(`${input}\n`);
    const { stdout } = await child;
    return stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [p, n, why] = JSON.parse(l) as [string, string, string];
        return `${p}: xattr ${n} not set: ${why}`;
      });
  } catch (err) {
    signal?.throwIfAborted();
    return [
      `${items.length} xattrs not set (python3 setxattr unavailable: ${(err as Error).message})`,
    ];
  }
}
