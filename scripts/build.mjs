#!/usr/bin/env node
// The one build (`npm run build`; `npm test` and `npm run bench` build through it):
// tsc into dist/, then scripts/bundle.mjs into dist/bin/. Two rules make concurrent runs
// in one worktree safe (a focused `scripts/test.mjs FILE` or a bench started while the
// full suite runs used to rebuild dist/ under it, and its CLI runs failed mid-build):
//   1. dist/ is rebuilt only when its inputs changed: the sha256 of every file under src/,
//      the tsconfigs, the bundler and package-lock.json (bundled dependencies) is kept in
//      dist/.build-inputs, and an unchanged hash skips the build;
//   2. a test run registers itself in dist/.users/PID while it runs, and a build that is
//      needed while another live process is registered fails with one line instead of
//      rewriting files that run is loading.
// Rejected: building into a temp dir and renaming it over dist/ (a directory cannot be
// replaced in one rename, so there is a moment with no dist/, and modules a running
// server imports later would come from the new build, mixed with the old); a lock that
// makes a focused run wait for the full suite (an hour on this machine).
//   --force   build even when the inputs are unchanged
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const STAMP = 'dist/.build-inputs';
const USERS = 'dist/.users';
const INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'scripts/bundle.mjs', 'package-lock.json'];

function filesUnder(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** The hash of everything the build reads from this repository. */
export function inputsHash() {
  const hash = createHash('sha256');
  for (const file of [...filesUnder('src'), ...INPUTS]) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Other live processes using dist/ (entries of dead ones are removed). */
function otherUsers() {
  if (!existsSync(USERS)) return [];
  const pids = [];
  for (const name of readdirSync(USERS)) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    if (Number.isInteger(pid) && alive(pid)) pids.push(pid);
    else rmSync(join(USERS, name), { force: true });
  }
  return pids;
}

/**
 * Register this process as using dist/ until it exits (a run killed by a signal leaves an
 * entry that the next build sees is dead).
 */
export function useDist() {
  mkdirSync(USERS, { recursive: true });
  const entry = join(USERS, String(process.pid));
  writeFileSync(entry, '');
  process.on('exit', () => rmSync(entry, { force: true }));
}

/** Build dist/ unless it is up to date; exits with one line when others are using it. */
export function build({ force = false } = {}) {
  const inputs = inputsHash();
  const built = existsSync(STAMP) ? readFileSync(STAMP, 'utf8') : '';
  if (!force && built === inputs) return;
  const users = otherUsers();
  if (users.length > 0) {
    console.error(
      `build: dist/ is out of date but in use by a running test (pid ${users.join(', ')}); not rebuilding it under that run: wait for it to end`,
    );
    process.exit(1);
  }
  rmSync(STAMP, { force: true });
  const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });
  run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
  run(process.execPath, ['scripts/bundle.mjs']);
  writeFileSync(STAMP, inputs);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    build({ force: process.argv.includes('--force') });
  } catch (err) {
    // tsc and esbuild have printed their errors already.
    process.exit(typeof err.status === 'number' ? err.status : 1);
  }
}
