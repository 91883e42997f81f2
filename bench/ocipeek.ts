import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cmd, RunResult } from './measure.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * The executable as npm installs it (package.json `bin`, `dist/bin/ocipeek`): what users
 * run, start-up and all. `npm run bench` builds first.
 */
export const BIN = path.join(
  repoRoot,
  (
    JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      bin: { ocipeek: string };
    }
  ).bin.ocipeek,
);

const available = new Map<string, boolean>();

/** Run the executable, untimed, with the bench's own environment. */
function runBin(args: string[], encoding?: 'utf8') {
  return spawnSync(BIN, args, { encoding, stdio: encoding ? 'pipe' : 'ignore', timeout: 30_000 });
}

/** Whether `ocipeek help CMD` exits 0, i.e. the command exists in this build. */
export function hasCommand(name: string): boolean {
  let ok = available.get(name);
  for (let attempt = 0; ok === undefined; attempt++) {
    const found = runBin(['help', name]).status === 0;
    // A CLI that cannot even print its version is being rebuilt (dist is shared while
    // others work): wait and ask again rather than call the command missing.
    if (found || attempt >= 5 || runBin(['--version']).status === 0) {
      ok = found;
      available.set(name, ok);
    } else {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
    }
  }
  return ok;
}

/** What {@link ocipeek} needs of the case context. */
interface Home {
  /** HOME for the run: no credentials, its code cache kept (see CaseContext.home). */
  home: string;
}

/** `ocipeek --stats ARGS...` with HOME and every credential location in `ctx.home`. */
export function ocipeek(ctx: Home, args: string[], extra: Partial<Cmd> = {}): Cmd {
  const home = ctx.home;
  return {
    file: BIN,
    args: ['--stats', ...args],
    env: {
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
      XDG_RUNTIME_DIR: path.join(home, 'run'),
      REGISTRY_AUTH_FILE: path.join(home, 'none.json'),
      DOCKER_CONFIG: path.join(home, '.docker'),
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
  return runBin(['--version'], 'utf8').stdout?.toString().trim() || 'unknown';
}
