import { InvalidWasmError } from '../errors/index.js';
import type { WasiVersion } from './wasi-version.js';

/** The four bytes every WebAssembly binary starts with: `\0asm`. */
export const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d]);

/** The length of a WebAssembly header: magic (4) + version (2) + layer (2). */
export const WASM_HEADER_LENGTH = 8;

/** The binary encodings the header can announce. */
export type WasmBinaryKind = 'module' | 'component';

/** What the 8-byte header of a WebAssembly binary says. */
export interface WasmHeader {
  /** A core module (layer 0, version 1) or a component (layer 1). */
  kind: WasmBinaryKind;
  /** The 16-bit version field (1 for modules, 0x0d for current components). */
  version: number;
  /** The 16-bit layer field (0 for modules, 1 for components). */
  layer: number;
}

/** True when `bytes` start with the `\0asm` magic. */
export function hasWasmMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && Buffer.from(bytes.buffer, bytes.byteOffset, 4).equals(WASM_MAGIC);
}

/**
 * Read the header of a WebAssembly binary. Bytes 4..7 are a little-endian 16-bit version
 * and a 16-bit layer: `01 00 00 00` is a core module, layer 1 (`0d 00 01 00` today) a
 * component. Throws {@link InvalidWasmError} for anything else.
 */
export function parseWasmHeader(bytes: Uint8Array, what = 'blob'): WasmHeader {
  if (bytes.length === 0) throw new InvalidWasmError('empty', `${what} is empty, not WebAssembly`);
  if (!hasWasmMagic(bytes)) {
    const head = Buffer.from(bytes.subarray(0, 4)).toString('hex');
    throw new InvalidWasmError(
      'bad-magic',
      `${what} is not WebAssembly: it starts with 0x${head}, not the \\0asm magic`,
    );
  }
  if (bytes.length < WASM_HEADER_LENGTH) {
    throw new InvalidWasmError('bad-version', `${what} ends inside the WebAssembly header`);
  }
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, WASM_HEADER_LENGTH);
  const version = b.readUInt16LE(4);
  const layer = b.readUInt16LE(6);
  if (layer === 0 && version === 1) return { kind: 'module', version, layer };
  // Component drafts before 0x0d (0x0a–0x0c) were also published with layer 1.
  if (layer === 1) return { kind: 'component', version, layer };
  throw new InvalidWasmError(
    'bad-version',
    `${what} has an unknown WebAssembly version ${version} (layer ${layer})`,
  );
}

/** The WASI version a binary encoding implies: modules are preview 1, components preview 2. */
export function wasiVersionOfKind(kind: WasmBinaryKind): WasiVersion {
  return kind === 'component' ? 'preview2' : 'preview1';
}
