#!/usr/bin/env node
// Bundle the CLI into dist/bin/ (see src/cli/launch.sh and src/cli/launch.ts for why it is
// laid out this way):
//   ocipeek                the executable (package.json "bin"): a sh script that starts node
//                          on ocipeek.js with NODE_EXTRA_CA_CERTS moved aside
//   container-image-proxy  the same script, the second bin: run by that name it is
//                          `ocipeek proxy`
//   ocipeek.js             a small launcher with a V8 code cache
//   ocipeek-cli.js         the whole CLI as one file, run by the launcher (written out
//                          as the function expression Node's loader would wrap it in)
//   ocipeek-cli-light.js   the same CLI holding only the small registry commands
//                          (src/cli/light-commands.ts), which the launcher runs for them
//   ocipeek-cli-pull.js    likewise, holding only `pull`
//   disk-writer-worker.js  unpack's writer thread, found beside the CLI
//   file-hash-worker.js    the registry server's upload hashing thread, likewise
//   piece-hash-worker.js   the seek index build's piece hashing thread, likewise
//   package.json           {"type": "commonjs"}: all of them are CommonJS, which Node loads
//                          without starting its ES module loader (~10 ms per run)
// Loading ~400 separate modules cost a noticeable share of every short command's run
// time; the library itself (dist/index.js) stays unbundled for importers.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist/bin', { recursive: true, force: true });

/**
 * commander requires `node:child_process` when it loads, for subcommands that are separate
 * executables, which ocipeek has none of. Loading it (and `dgram` with it) costs ~2 ms of
 * every run; this hands commander a stand-in that loads the module on first use.
 */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /[\\/]node_modules[\\/]commander[\\/]/.test(args.importer)
        ? { path: 'child_process', namespace: 'lazy-builtin' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, () => ({
      contents:
        "module.exports = new Proxy({}, { get: (_, name) => require('node:child_process')[name] });",
      loader: 'js',
    }));
  },
};

/**
 * `node:fs/promises` loads readline, `fs/dir` and the file watchers with it: ~4.4 M
 * instructions (`node -e 'require("fs/promises")'` against `node -e ''`, callgrind), ~2%
 * of a `digest`, which reads its few small files synchronously and never calls it. 64
 * modules import it statically, so every command loaded it at start. In the CLI bundle its
 * imports get a stand-in module whose functions load the real one on their first call.
 * It is an ES module of plain functions, so importers call them directly: a CommonJS
 * stand-in with getters would be copied into a new object by every importer (esbuild's
 * `__toESM`), which cost more than the load it saves (bench/ANALYSIS.md, ninth session).
 * Only functions are offered; importing anything else (`constants`) fails the build.
 */
const lazyFsPromises = {
  name: 'lazy-fs-promises',
  setup(b) {
    // The stand-in's own require is the real module (esbuild leaves built-ins external).
    b.onResolve({ filter: /^(node:)?fs\/promises$/ }, (args) =>
      args.namespace === 'lazy-fs-promises'
        ? undefined
        : { path: 'fs/promises', namespace: 'lazy-fs-promises' },
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-fs-promises' }, async () => {
      const real = await import('node:fs/promises');
      const names = Object.keys(real).filter(
        (n) => n !== 'default' && typeof real[n] === 'function',
      );
      return {
        contents: [
          'let loaded;',
          "const load = () => (loaded ??= require('node:fs/promises'));",
          ...names.map((n) => `export const ${n} = (...args) => load().${n}(...args);`),
        ].join('\n'),
        loader: 'js',
      };
    });
  },
};

/**
 * A lean CLI bundle (src/cli/light-commands.ts: the light one, the pull one): the command
 * table (src/cli/command-name.ts) gets a stand-in for every command module not in `words`, so esbuild leaves those
 * commands' module graphs out. Resolution decides, not the text: only the table's own
 * imports of `./commands/*.js` are replaced, so a module a light command imports is
 * bundled as usual. The launcher never runs a lean bundle for another command; were
 * one loaded anyway, it fails loudly instead of doing something else. `kept` collects the
 * words whose module was found in the table.
 */
function onlyCommands(words, kept) {
  return {
    name: 'only-commands',
    setup(b) {
      b.onResolve({ filter: /^\.\/commands\/[a-z-]+\.js$/ }, (args) => {
        if (!/[\\/]src[\\/]cli[\\/]command-name\.ts$/.test(args.importer)) return undefined;
        const name = args.path.slice('./commands/'.length, -'.js'.length);
        if (words.has(name)) {
          kept.add(name);
          return undefined;
        }
        return { path: name, namespace: 'left-out-command' };
      });
      b.onLoad({ filter: /.*/, namespace: 'left-out-command' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`ocipeek: the ${args.path} command is not in the light CLI bundle`)});`,
        loader: 'js',
      }));
    },
  };
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
  // The launcher reads the bundle as latin1, faster than UTF-8 and exact for ASCII: strings
  // are escaped to ASCII, and comments (which esbuild would otherwise keep as they are) go
  // with the whitespace. A third smaller, the bundle reads and compiles ~1 ms faster;
  // names stay, so stack traces (--verbose) still say which function.
  charset: 'ascii',
  minifyWhitespace: true,
  // Modules that locate files beside themselves read import.meta.url.
  define: { 'import.meta.url': '__ocipeekFileUrl' },
  banner: { js: "const __ocipeekFileUrl = require('node:url').pathToFileURL(__filename).href;" },
  // import.meta.resolve is only reached when running from the TypeScript sources.
  logOverride: { 'empty-import-meta': 'silent' },
};

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const cliOptions = {
  ...common,
  entryPoints: ['src/cli/main.ts'],
  // cli/version.ts: the version is known now, so a run need not read package.json.
  define: { ...common.define, OCIPEEK_VERSION: JSON.stringify(version) },
  // The AWS SDK and hash-wasm (S3 storage of `serve`) are required from node_modules when
  // a run uses them, not read and compiled with every command.
  // OpenPGP.js (GPG simple signing) likewise, and stays a module of its own (LGPL-3.0+).
  external: ['@aws-sdk/*', 'hash-wasm', 'openpgp'],
};
await build({
  ...cliOptions,
  outfile: 'dist/bin/ocipeek-cli.js',
  plugins: [lazyChildProcessForCommander, lazyFsPromises],
});
// tsc has built dist/ (scripts/build.mjs): the lists are read from there.
const { LEAN_BUNDLES } = await import('../dist/cli/light-commands.js');
const seenWords = new Set();
for (const { file, words } of LEAN_BUNDLES) {
  const twice = [...words].filter((word) => seenWords.has(word));
  if (twice.length > 0) throw new Error(`bundle: ${twice} in more than one lean bundle`);
  for (const word of words) seenWords.add(word);
  const keptCommands = new Set();
  await build({
    ...cliOptions,
    outfile: `dist/bin/${file}`,
    // Short names: 676 -> 485 KB, ~2 M instructions less of a `digest` (bench/ANALYSIS.md,
    // tenth session). Stack traces would name `a` and `Kt`, and errors' names (OcipeekError
    // takes its class's) likewise, so the launcher runs the full bundle, which keeps every
    // name, whenever --verbose (the only output that prints them) is given. Not keepNames:
    // its helper calls cost more than the short names save.
    minifyIdentifiers: true,
    plugins: [lazyChildProcessForCommander, lazyFsPromises, onlyCommands(words, keptCommands)],
  });
  const notInTable = [...words].filter((word) => !keptCommands.has(word));
  if (notInTable.length > 0) {
    throw new Error(
      `bundle: ${file}: commands with no ./commands/<name>.js in the table: ${notInTable}`,
    );
  }
}
for (const worker of [
  'src/unpack/disk-writer-worker.ts',
  'src/server/storage/file-hash-worker.ts',
  'src/lazy/seek-index/piece-hash-worker.ts',
]) {
  await build({
    ...common,
    entryPoints: [worker],
    outfile: `dist/bin/${worker.split('/').pop().replace(/\.ts$/, '.js')}`,
  });
}

/**
 * esbuild wraps each module in `__esm({"src/x.ts"() {...}})` (ours) or
 * `__commonJS({"node_modules/y.js"(exports, module) {...}})` (npm's CommonJS), one object
 * literal keyed by the module's path, so that the function is named after it. The bundle
 * runs all ~680 of these literals at start; each key is new to V8, so each literal makes a
 * map of its own and adds a transition to the one shared root map, whose transition
 * list grows by insertion: ~12 M instructions of every run (callgrind, `digest`), 6% of
 * it (bench/ANALYSIS.md, seventh session). One key for all of them makes one map. Only
 * the name of a module's initializer in a stack trace is lost (`m` instead of its path).
 */
function oneKeyForModuleWrappers(text) {
  let esm = 0;
  let cjs = 0;
  const out = text
    .replace(/__esm\(\{"[^"\\]*"\(\)\{/g, () => {
      esm++;
      return '__esm({m(){';
    })
    .replace(/__commonJS\(\{"[^"\\]*"\(/g, () => {
      cjs++;
      return '__commonJS({m(';
    });
  // Every call must have been rewritten (the helpers are defined as `var __esm=(...`).
  const calls = (name) => text.split(`${name}(`).length - 1;
  if (esm !== calls('__esm') || cjs !== calls('__commonJS') || esm === 0) {
    throw new Error(
      `bundle: rewrote ${esm} of ${calls('__esm')} __esm and ${cjs} of ${calls('__commonJS')} __commonJS wrappers: esbuild's output changed`,
    );
  }
  return out;
}

/**
 * The bundle as the function Node's CommonJS loader would wrap it in, written out in the
 * file. The launcher compiles the file's text as it is: a wrapper added at run time makes
 * a cons string that V8 flattens into a new 1.5 MB copy before compiling (~400 more page
 * faults and 1.5 MB more peak RSS a run), while the text read from the file stays an
 * external string (bench/ANALYSIS.md, seventh session).
 */
const CJS_WRAPPER = '(function (exports, require, module, __filename, __dirname) {';
/**
 * Wrap a CLI bundle as above and return the first 16 hex digits of its sha256. A bundle
 * with minified identifiers has no keyed wrappers to rewrite: esbuild writes its module
 * wrappers as arrows then.
 */
function finishCli(file, { minified = false } = {}) {
  const text = readFileSync(file, 'latin1');
  writeFileSync(
    file,
    `${CJS_WRAPPER}${minified ? text : oneKeyForModuleWrappers(text)}\n})`,
    'latin1',
  );
  const cli = readFileSync(file);
  if (cli.some((byte) => byte > 0x7f)) throw new Error(`${file} is not ASCII`);
  return createHash('sha256').update(cli).digest('hex').slice(0, 16);
}
/** Each CLI bundle's file name in dist/bin and hash, for the launcher. */
const cliHashes = { 'ocipeek-cli.js': finishCli('dist/bin/ocipeek-cli.js') };
for (const { file } of LEAN_BUNDLES) {
  cliHashes[file] = finishCli(`dist/bin/${file}`, { minified: true });
}
await build({
  ...common,
  entryPoints: ['src/cli/launch.ts'],
  outfile: 'dist/bin/ocipeek.js',
  define: {
    ...common.define,
    OCIPEEK_CLI_HASHES: JSON.stringify(cliHashes),
  },
});
for (const bin of ['ocipeek', 'container-image-proxy']) {
  copyFileSync('src/cli/launch.sh', `dist/bin/${bin}`);
  chmodSync(`dist/bin/${bin}`, 0o755);
}
chmodSync('dist/bin/ocipeek.js', 0o755);
writeFileSync('dist/bin/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);
