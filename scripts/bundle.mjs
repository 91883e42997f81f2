#!/usr/bin/env node
// Bundle the CLI into dist/bin/ (see src/cli/launch.ts for why it is laid out this way):
//   ocipeek.js             the executable: a small launcher with a V8 code cache
//   ocipeek-cli.js         the whole CLI as one file, run by the launcher
//   disk-writer-worker.js  unpack's writer thread, found beside the CLI
//   package.json           {"type": "commonjs"}: all three are CommonJS, which Node loads
//                          without starting its ES module loader (~10 ms per run)
// Loading ~400 separate modules cost a noticeable share of every short command's run
// time; the library itself (dist/index.js) stays unbundled for importers.
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist/bin', { recursive: true, force: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
  // Modules that locate files beside themselves read import.meta.url.
  define: { 'import.meta.url': '__ocipeekFileUrl' },
  banner: { js: "const __ocipeekFileUrl = require('node:url').pathToFileURL(__filename).href;" },
  // import.meta.resolve is only reached when running from the TypeScript sources.
  logOverride: { 'empty-import-meta': 'silent' },
};

await build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/bin/ocipeek-cli.js' });
await build({
  ...common,
  entryPoints: ['src/unpack/disk-writer-worker.ts'],
  outfile: 'dist/bin/disk-writer-worker.js',
});
const cliHash = createHash('sha256')
  .update(readFileSync('dist/bin/ocipeek-cli.js'))
  .digest('hex')
  .slice(0, 16);
await build({
  ...common,
  entryPoints: ['src/cli/launch.ts'],
  outfile: 'dist/bin/ocipeek.js',
  define: { ...common.define, OCIPEEK_CLI_HASH: JSON.stringify(cliHash) },
});
writeFileSync('dist/bin/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);
