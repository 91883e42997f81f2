import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cmd, RunResult } from './measure.js';

/** The built CLI: `npm run bench` builds first. */
export const CLI = fileURLToPath(new URL('../dist/bin/ocipeek.js', import.meta.url));

/** A home with no credentials, so no run picks up the user's logins or settings. */
const HOME = mkdtempSync(path.join(os.tmpdir(), 'ocipeek-bench-home-'));

const available = new Map<string, boolean>();

/** Whether `ocipeek help CMD` exits 0, i.e. the command exists in this build. */
export function hasCommand(name: string): boolean {
  let ok = available.get(name);
  for (let attempt = 0; ok === undefined; attempt++) {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [CLI, ...args], { stdio: 'ignore', timeout: 30_000 }).status;
    const found = run(['help', name]) === 0;
    // A CLI that cannot even print its version is being rebuilt (dist is shared while
    // others work): wait and ask again rather than call the command missing.
    if (found || attempt >= 5 || run(['--version']) === 0) {
      ok = found;
      available.set(name, ok);
    } else {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
    }
  }
  return ok;
}

/** `ocipeek help CMD` text (empty when the command is missing). */
export function helpText(name: string): string {
  const r = spawnSync(process.execPath, [CLI, 'help', name], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? r.stdout : '';
}

/** `node dist/bin/ocipeek.js --stats ARGS...` in a clean home. */
export function ocipeek(args: string[], extra: Partial<Cmd> = {}): Cmd {
  return {
    file: process.execPath,
    args: [CLI, '--stats', ...args],
    env: {
      HOME,
      XDG_CONFIG_HOME: path.join(HOME, '.config'),
      XDG_RUNTIME_DIR: path.join(HOME, 'run'),
      REGISTRY_AUTH_FILE: path.join(HOME, 'none.json'),
      DOCKER_CONFIG: path.join(HOME, '.docker'),
    },
    ...extra,
  };
}

/** The `--stats` line of a run: requests and bytes fetched as ocipeek counted them. */
export function statsOf(run: RunResult): { requests: number; bytesFetched: number } | undefined {
  const m = /stats: requests=(\d+) bytesFetched=(\d+)/.exec(run.stderr);
  return m ? { requests: Number(m[1]), bytesFetched: Number(m[2]) } : undefined;
}

/** `ocipeek --version`. */
export function ocipeekVersion(): string {
  const r = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8', timeout: 30_000 });
  return r.stdout.trim() || 'unknown';
}
