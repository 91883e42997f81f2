import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

/*
 * Node has no mknod, mkfifo or setxattr. Images rarely hold fifos or device nodes (and
 * xattrs are uncommon outside file capabilities and rootless owner records), so spawning
 * the coreutils commands for them, or one python3 process for all xattrs, needs no native
 * addon and costs little. Paths handed over are absolute (no option injection) and their parents are
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

// Started with -S -I and fed hex (no json or base64 to import): python3 takes ~0.1 s just to
// start on a small machine, which is why the process is started ahead of need. The value
// carries a leading `v` so that an empty one is still a field.
const SETXATTR_PY = `
import os, sys
for line in sys.stdin:
    p, n, v = line.split()
    try:
        os.setxattr(bytes.fromhex(p), bytes.fromhex(n), bytes.fromhex(v[1:]), follow_symlinks=False)
    except (OSError, ValueError) as e:
        print(p, n, getattr(e, 'strerror', None) or str(e), flush=True)
`;

const hex = (text: string, encoding: BufferEncoding) => Buffer.from(text, encoding).toString('hex');

/**
 * A `python3` process that sets extended attributes without following symlinks. Start it
 * before the attributes are known (its start-up then overlaps other work), hand it every
 * attribute once with {@link XattrSetter.set}, or {@link XattrSetter.cancel} it.
 */
export class XattrSetter {
  private readonly child: ChildProcess;
  private readonly done: Promise<{ stdout: string; error?: Error }>;

  constructor(signal?: AbortSignal) {
    this.child = spawn('python3', ['-S', '-I', '-c', SETXATTR_PY], {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(signal ? { signal } : {}),
    });
    const child = this.child;
    this.done = new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      let error: Error | undefined;
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
      });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      // An attribute list python never reads (it failed to start) must not crash us.
      child.stdin?.on('error', () => {});
      child.on('error', (err) => {
        error ??= err;
      });
      child.on('close', (code, killedBy) => {
        if (!error && code !== 0) {
          const how = killedBy ? `was stopped by ${killedBy}` : `exited with ${code}`;
          error = new Error(`python3 ${how}${stderr ? `: ${stderr.trim()}` : ''}`);
        }
        resolve({ stdout, ...(error ? { error } : {}) });
      });
    });
  }

  /**
   * Set `items` and let the process end. Returns one message per attribute that could not
   * be set (or one for all when python3 is missing); never throws for a failed attribute.
   */
  async set(items: readonly XattrItem[], signal?: AbortSignal): Promise<string[]> {
    const lines = items.map(
      (i) => `${hex(i.abs, 'utf8')} ${hex(i.name, 'utf8')} v${hex(i.value, 'latin1')}\n`,
    );
    this.child.stdin?.end(lines.join(''));
    const { stdout, error } = await this.done;
    signal?.throwIfAborted();
    if (error) {
      if (items.length === 0) return [];
      return [`${items.length} xattrs not set (python3 setxattr unavailable: ${error.message})`];
    }
    return stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [p = '', n = '', ...why] = l.split(' ');
        const name = Buffer.from(n, 'hex').toString('utf8');
        return `${Buffer.from(p, 'hex').toString('utf8')}: xattr ${name} not set: ${why.join(' ')}`;
      });
  }

  /** Stop the process without setting anything. */
  cancel(): void {
    this.child.kill();
  }
}

/** Set extended attributes through a `python3` process started for them alone. */
export async function setXattrs(
  items: readonly XattrItem[],
  signal?: AbortSignal,
): Promise<string[]> {
  if (items.length === 0) return [];
  return new XattrSetter(signal).set(items, signal);
}
