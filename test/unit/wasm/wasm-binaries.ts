/** Hand-built WebAssembly binaries for the wasm tests. */

/** The smallest valid core module: magic + version 1. */
export const EMPTY_MODULE = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

/** A valid core module with one type section entry: `(type (func))`. */
export const MODULE_WITH_TYPE = Buffer.concat([
  EMPTY_MODULE,
  Buffer.from([0x01, 0x04, 0x01, 0x60, 0x00, 0x00]),
]);

/** The smallest valid component: magic + version 0x0d + layer 1. */
export const EMPTY_COMPONENT = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);

function name(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length]), b]);
}

function section(id: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([id, body.length]), body]);
}

/**
 * A component whose import section names two instances and whose export section names
 * one (as `wasm-tools` lays them out; the type indexes are not backed by a type section,
 * which only the names reader here does not mind).
 */
export function componentWithWorld(): Buffer {
  const imports = section(
    10,
    Buffer.concat([
      Buffer.from([0x02]),
      Buffer.from([0x00]),
      name('wasi:cli/environment@0.2.0'),
      Buffer.from([0x05, 0x00]),
      Buffer.from([0x00]),
      name('wasi:io/streams@0.2.0'),
      Buffer.from([0x05, 0x01]),
    ]),
  );
  const exports = section(
    11,
    Buffer.concat([
      Buffer.from([0x01]),
      Buffer.from([0x00]),
      name('wasi:cli/run@0.2.0'),
      Buffer.from([0x05, 0x02]),
      Buffer.from([0x01, 0x05, 0x03]),
    ]),
  );
  // A custom section before them, to check that other sections are skipped by size.
  const custom = section(0, Buffer.concat([name('producers'), Buffer.from([0x00])]));
  return Buffer.concat([EMPTY_COMPONENT, custom, imports, exports]);
}
