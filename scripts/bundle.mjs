#!/usr/bin/env node
// Bundle the CLI into dist/bin/ (one entry file, one chunk per command, loaded on demand).
// Loading ~400 separate modules cost a noticeable share of every short command's run
// time; the library itself (dist/index.js) stays unbundled for importers.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry content hashes: clear the old ones so dist/ holds one build only.
rmSync('dist/bin/chunks', { recursive: true, force: true });

await build({
  // unpack's writer thread lands beside the chunks, where worker-disk-writer looks for it.
  entryPoints: {
    ocipeek: 'src/cli/main.ts',
    'chunks/disk-writer-worker': 'src/unpack/disk-writer-worker.ts',
  },
  outdir: 'dist/bin',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // commander and tar-stream are CommonJS: give the ESM bundle a require().
  banner: {
    js: "import { createRequire as __ocipeekRequire } from 'node:module'; const require = __ocipeekRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
