#!/usr/bin/env node
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { commandWordOf, wantsVerbose } from './command-word.js';
import { LEAN_BUNDLES } from './light-commands.js';

/**
 * The launcher the `ocipeek` executable starts (`dist/bin/ocipeek`, `cli/launch.sh`, runs
 * `node ocipeek.js`). It runs the CLI, bundled as one CommonJS file (`ocipeek-cli.js`),
 * through a V8 code cache kept per command. For the small registry commands and for
 * `pull` (`light-commands.ts`) it runs a lean bundle instead (`ocipeek-cli-light.js`,
 * `ocipeek-cli-pull.js`: the same CLI without the other commands, identifiers minified,
 * ~0.5 of 1.6 MB each), whose cache and top level cost less; with `--verbose` it runs the
 * full one, which keeps names for stack traces.
 *
 * Why: a short command such as a pull spends a third of its time starting, and much of
 * that is V8 parsing and compiling the CLI's code. Node 22 can cache compiled code itself
 * (`module.enableCompileCache`). Node 20 cannot, for ES modules, but `vm.Script` accepts
 * and produces cached data. Measured on a no-op re-pull (bench/ANALYSIS.md): 0.143 s
 * before, 0.110 s with the cache.
 *
 * The cache is written at exit, after the command ran, so it also holds the functions the
 * command compiled on the way. It is keyed by the bundle's content hash, Node's version,
 * the CPU architecture and the command word (so each bundle has its own); caches of a
 * few other builds are kept (see
 * {@link OTHER_BUNDLES_KEPT}). It lives in `$OCIPEEK_COMPILE_CACHE`, else
 * `$XDG_CACHE_HOME/ocipeek-compile-cache` (`~/.cache/...`); `OCIPEEK_COMPILE_CACHE=off`
 * turns it off. Any problem with the cache (missing, unreadable, rejected by V8,
 * unwritable) only means compiling as usual.
 */

/**
 * Set by scripts/bundle.mjs: each CLI bundle's file name in dist/bin (the full
 * `ocipeek-cli.js` and the lean ones) and the first 16 hex digits of its sha256.
 */
declare const OCIPEEK_CLI_HASHES: Readonly<Record<string, string>>;

/** Whether a cache file's build (bundle hash) is one of this build's bundles. */
function isThisBuild(build: string): boolean {
  return Object.values(OCIPEEK_CLI_HASHES).includes(build);
}

function cacheDir(): string | undefined {
  const setting = process.env.OCIPEEK_COMPILE_CACHE;
  if (setting === 'off' || setting === '0') return undefined;
  if (setting) return setting;
  let base = process.env.XDG_CACHE_HOME;
  if (!base) {
    const home = homedir();
    // No home to put it in: no cache, rather than a .cache folder in the working directory.
    if (!home) return undefined;
    base = join(home, '.cache');
  }
  return join(base, 'ocipeek-compile-cache');
}

function readCache(file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * How many other builds' caches a cache folder keeps besides this build's: the ones most
 * recently written. Why not none: builds in use side by side (an installed ocipeek and a
 * checkout, two worktrees) share the folder, and each deleting the other's caches made
 * both rewrite theirs (0.7 MB each) on every run, taking turns.
 */
const OTHER_BUILDS_KEPT = 3;

/**
 * {@link OTHER_BUILDS_KEPT} counted in bundles, since a cache file's name tells its bundle,
 * not its build: every build has the full bundle and each lean one.
 */
const OTHER_BUNDLES_KEPT = OTHER_BUILDS_KEPT * (LEAN_BUNDLES.length + 1);

/** The bundle (its hash) a cache file name belongs to. */
function buildOf(name: string): string {
  return name.slice(0, name.indexOf('-'));
}

/** Delete the caches of all but the {@link OTHER_BUNDLES_KEPT} most recently written other bundles. */
function pruneOtherBuilds(dir: string): void {
  const newest = new Map<string, number>();
  const names = readdirSync(dir).filter((name) => name.endsWith('.bin'));
  for (const name of names) {
    const build = buildOf(name);
    if (isThisBuild(build)) continue;
    const { mtimeMs } = statSync(join(dir, name));
    newest.set(build, Math.max(newest.get(build) ?? 0, mtimeMs));
  }
  const kept = new Set(
    [...newest]
      .sort((a, b) => b[1] - a[1])
      .slice(0, OTHER_BUNDLES_KEPT)
      .map(([build]) => build),
  );
  for (const name of names) {
    const build = buildOf(name);
    if (!isThisBuild(build) && !kept.has(build)) unlinkSync(join(dir, name));
  }
}

/** Write `data` to `file` atomically and prune other builds' caches; errors are ignored. */
function writeCache(dir: string, file: string, data: Buffer): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, data, { mode: 0o600 });
    renameSync(temp, file);
    pruneOtherBuilds(dir);
  } catch {
    // A read-only or full cache folder only costs the next run its compile time.
  }
}

// launch.sh moved NODE_EXTRA_CA_CERTS aside so that Node would not parse it at start; the
// TLS code adds those CAs when it first needs them (transport/tls.ts). Processes ocipeek
// starts (credential helpers) get the variable back as the user set it.
const deferredCa = process.env.OCIPEEK_DEFERRED_EXTRA_CA_CERTS;
if (deferredCa && process.env.NODE_EXTRA_CA_CERTS === undefined) {
  process.env.NODE_EXTRA_CA_CERTS = deferredCa;
}

// launch.sh set MALLOC_ARENA_MAX (and, for unpack, malloc's thresholds) for this process
// (glibc has read them by now): the processes ocipeek starts get the environment as the
// user had it.
if (process.env.OCIPEEK_SET_MALLOC_ARENA_MAX) {
  delete process.env.MALLOC_ARENA_MAX;
  delete process.env.OCIPEEK_SET_MALLOC_ARENA_MAX;
}
if (process.env.OCIPEEK_SET_MALLOC_THRESHOLDS) {
  delete process.env.MALLOC_MMAP_THRESHOLD_;
  delete process.env.MALLOC_TRIM_THRESHOLD_;
  delete process.env.OCIPEEK_SET_MALLOC_THRESHOLDS;
}

// The container-image-proxy bin run with node itself (Yarn 2+ does that; launch.sh
// otherwise adds the command word): it is `ocipeek proxy`.
if (/(^|[\\/])container-image-proxy$/.test(process.argv[1] ?? ''))
  process.argv.splice(2, 0, 'proxy');

const args = process.argv.slice(2);
const word = commandWordOf(args) ?? '';
// Same word, same command: a lean bundle's main registers just that command, as the full
// one's would (commandNameOf in command-name.ts is this word checked against the table).
// The lean bundles' identifiers are minified: a run that may print a stack trace (the test
// main uses, wantsVerbose) runs the full bundle, whose functions and errors keep their
// names.
const lean = wantsVerbose(args) ? undefined : LEAN_BUNDLES.find((bundle) => bundle.words.has(word));
const here = dirname(fileURLToPath(import.meta.url));
const dir = cacheDir();
const key = /^[a-z][a-z-]{0,31}$/.test(word) ? word : 'none';

/** A bundle compiled, ready to run, with the code cache it was given and where to keep it. */
interface Compiled {
  path: string;
  script: Script;
  cached: Buffer | undefined;
  cacheFile: string | undefined;
}

/** Read and compile the bundle `file` of dist/bin, through its code cache. */
function compile(file: string): Compiled {
  const path = join(here, file);
  const hash = OCIPEEK_CLI_HASHES[file] ?? 'none';
  // scripts/bundle.mjs keeps the bundle ASCII, so latin1 reads it exactly, in about half
  // the time UTF-8 decoding takes (~1 ms less for 0.8 MB).
  const source = readFileSync(path, 'latin1');
  const cacheFile = dir
    ? join(dir, `${hash}-${process.version}-${process.arch}-${key}.bin`)
    : undefined;
  const cached = readCache(cacheFile);
  // The file holds the bundle inside the wrapper Node gives CommonJS modules (written out
  // by scripts/bundle.mjs, so that V8 compiles the text read, without a flattened copy),
  // and runs as it would if required.
  return {
    path,
    script: new Script(source, { filename: path, cachedData: cached }),
    cached,
    cacheFile,
  };
}

/**
 * The lean bundle for this command, else the full one. A lean bundle that cannot be read
 * or compiled (left out or cut short by a packager or a copy, unreadable) runs the full
 * bundle instead, silently: it holds every command and behaves the same for these (the
 * lean ones are only a faster start), nothing of the CLI has run yet when a read or
 * compile fails, and a warning would change the output of every such run over what
 * costs only start-up time. Only the full bundle's own failure is reported (by Node).
 */
function compileBundle(): Compiled {
  if (lean) {
    try {
      return compile(lean.file);
    } catch {
      // The full bundle below.
    }
  }
  return compile('ocipeek-cli.js');
}

const { path: bundlePath, script, cached, cacheFile } = compileBundle();
if (dir && cacheFile && (cached === undefined || script.cachedDataRejected)) {
  process.once('exit', () => writeCache(dir, cacheFile, script.createCachedData()));
}
const module = { exports: {} };
script.runInThisContext()(
  module.exports,
  createRequire(bundlePath),
  module,
  bundlePath,
  dirname(bundlePath),
);
