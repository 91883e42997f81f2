import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI (`npm test` builds before running tests). */
export const CLI_PATH = fileURLToPath(new URL('../../dist/bin/ocipeek.js', import.meta.url));
/** The executable npm links (`package.json` bin): the sh launcher that starts CLI_PATH. */
export const BIN_PATH = fileURLToPath(new URL('../../dist/bin/ocipeek', import.meta.url));

/** A home folder with no credentials, so tests never pick up the runner's own logins. */
const EMPTY_HOME = mkdtempSync(join(tmpdir(), 'ocipeek-test-home-'));

/** What a CLI run printed and how it ended. */
export interface CliResult {
  code: number;
  stdout: Buffer;
  stderr: string;
  /** stdout as UTF-8. */
  out: string;
}

/** Options for {@link runCli}. */
export interface RunCliOptions {
  /** Written to the CLI's standard input, then closed. */
  stdin?: string;
  /**
   * Give standard input as an OS pipe, as a shell's `|` does (through `cat`), instead of
   * the socket pair Node spawns with, which `/dev/stdin` cannot be opened on (ENXIO).
   */
  stdinPipe?: boolean;
  /** Extra environment variables (HOME and the XDG/auth variables point at an empty home). */
  env?: Record<string, string>;
  /** Kill the run after this many ms (default 120 s). */
  timeoutMs?: number;
  /** Run the executable as installed ({@link BIN_PATH}) instead of `node CLI_PATH`. */
  bin?: boolean;
  /** Run `node LAUNCHER` instead of `node CLI_PATH`: a launcher in a copy of dist/bin. */
  launcher?: string;
  /** Working directory (default: the test runner's). */
  cwd?: string;
  /** Run as this user and group (the test runner must be root). */
  uid?: number;
  gid?: number;
}

/** Run `ocipeek ARGS…` as a user would, in a clean environment. */
export function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: EMPTY_HOME,
    XDG_CONFIG_HOME: join(EMPTY_HOME, '.config'),
    XDG_RUNTIME_DIR: join(EMPTY_HOME, 'run'),
    ...options.env,
  };
  return new Promise((resolve, reject) => {
    const ids = {
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    };
    const argv = options.bin
      ? [BIN_PATH, ...args]
      : [process.execPath, options.launcher ?? CLI_PATH, ...args];
    const child = options.stdinPipe
      ? spawn('sh', ['-c', 'cat | "$@"', 'sh', ...argv], { env, ...ids })
      : spawn(argv[0] as string, argv.slice(1), { env, ...ids });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      resolve({
        code: code ?? -1,
        stdout,
        out: stdout.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    // A command that fails before reading stdin closes the pipe: EPIPE here is that
    // command's business (its exit code and stderr say what happened), not the test's.
    child.stdin.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') reject(error);
    });
    child.stdin.end(options.stdin ?? '');
  });
}
