import { createRequire } from 'node:module';

/**
 * Node built-ins that most runs never touch, loaded on first use instead of at start-up.
 * A short command such as a pull spends most of its time starting: `node:https` (with
 * `tls`) and `node:child_process` (with `dgram`) each add 4-5 ms of module compiling that a
 * pull from a plain-HTTP registry with no credential helper never needs, and `node:http`
 * (with its agent, client and server modules) is needed only for requests with a body
 * (measured in bench/ANALYSIS.md). A static `import` would load them in every run.
 */
const load = createRequire(import.meta.url);

/** `node:http`, loaded on first call (requests with a body; GET and HEAD use our own client). */
export function http(): typeof import('node:http') {
  return load('node:http');
}

/** `node:https`, loaded on first call. */
export function https(): typeof import('node:https') {
  return load('node:https');
}

/** `node:tls`, loaded on first call. */
export function tls(): typeof import('node:tls') {
  return load('node:tls');
}

/**
 * `node:zlib`, loaded on first call: small commands (`inspect`, `digest`, `tags`) reach
 * the decompression modules through their imports but never inflate anything.
 */
export function zlib(): typeof import('node:zlib') {
  return load('node:zlib');
}

/** `node:child_process`, loaded on first call. */
export function childProcess(): typeof import('node:child_process') {
  return load('node:child_process');
}

/**
 * `node:crypto`, loaded on first call: loading it costs ~13 M instructions (its key,
 * cipher and key-generation modules come with it), and `tags`, `catalog` and other
 * commands that hash nothing reach it only through their imports (bench/ANALYSIS.md,
 * eleventh session, h15i).
 */
export function crypto(): typeof import('node:crypto') {
  return load('node:crypto');
}
