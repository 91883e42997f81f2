/**
 * The WASI level an artifact targets: `preview1` (wasip1, core modules), `preview2`
 * (wasip2, components), or `unknown` when nothing fetched so far says.
 */
export type WasiVersion = 'preview1' | 'preview2' | 'unknown';

/** True for WASI preview 1 (a core module). */
export function isPreview1(version: WasiVersion | null | undefined): boolean {
  return version === 'preview1';
}

/** True for WASI preview 2 (a component). */
export function isPreview2(version: WasiVersion | null | undefined): boolean {
  return version === 'preview2';
}

/**
 * The Rust-style target triple for a WASI version: `wasm32-wasip1`, `wasm32-wasip2`, and
 * the generic `wasm32-wasi` when the version is unknown.
 */
export function targetTriple(
  version: WasiVersion,
): 'wasm32-wasip1' | 'wasm32-wasip2' | 'wasm32-wasi' {
  if (version === 'preview1') return 'wasm32-wasip1';
  if (version === 'preview2') return 'wasm32-wasip2';
  return 'wasm32-wasi';
}
