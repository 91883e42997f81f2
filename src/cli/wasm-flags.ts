import { setFlagsFromString } from 'node:v8';

// undici parses HTTP/1.1 with llhttp compiled to WebAssembly. By default V8 compiles the
// whole module at once and then re-compiles it with its optimising tier on a background
// thread, and a process cannot exit before that job ends: about 0.1-0.2 s added to every
// short command (measured: `digest` 318 ms -> 234 ms). Compiling each function on first
// use with the baseline compiler only costs nothing measurable on large downloads, where
// llhttp merely hands body spans over. This module is imported first by the CLI entry,
// before any command loads undici; the library leaves its host's flags alone.
setFlagsFromString('--wasm-lazy-compilation');
setFlagsFromString('--liftoff-only');
