import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { CLI_PATH } from './run-cli.js';

/** An `ocipeek serve` process on a free port (see {@link startServe}). */
export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** Peak resident memory (VmHWM) so far, in KiB. */
  peakRssKiB(): Promise<number>;
  /** SIGTERM, then wait for it to exit (it finishes requests and saves its state first). */
  stop(): Promise<void>;
}

/**
 * Start the built CLI's `ocipeek serve --storage STORAGE --listen 127.0.0.1:0 --quiet
 * ARGS...` with only `env` (and PATH) in its environment; resolves once it listens.
 */
export async function startServe(
  storage: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [CLI_PATH, 'serve', '--storage', storage, '--listen', '127.0.0.1:0', '--quiet', ...args],
    {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /listening on (\S+)/.exec(stderr);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${stderr}`)));
  });
  return {
    url,
    child,
    peakRssKiB: async () => {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
