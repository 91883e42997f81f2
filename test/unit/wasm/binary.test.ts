import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidWasmError } from '../../../src/errors/index.js';
import {
  componentWorld,
  hasWasmMagic,
  parseWasmHeader,
  wasiVersionOfKind,
} from '../../../src/wasm/index.js';
import {
  componentWithWorld,
  EMPTY_COMPONENT,
  EMPTY_MODULE,
  MODULE_WITH_TYPE,
} from './wasm-binaries.js';

/** V8's own validator (the global is not in this project's TypeScript libs). */
const { WebAssembly } = globalThis as unknown as {
  WebAssembly: { validate(bytes: Uint8Array): boolean };
};

function wasmError(reason: string) {
  return (err: unknown) => {
    assert.ok(err instanceof InvalidWasmError, String(err));
    assert.equal(err.code, 'ERR_INVALID_WASM');
    assert.equal(err.reason, reason);
    return true;
  };
}

describe('parseWasmHeader', () => {
  it('reads a core module (version 1, layer 0)', () => {
    assert.deepEqual(parseWasmHeader(EMPTY_MODULE), { kind: 'module', version: 1, layer: 0 });
    assert.deepEqual(parseWasmHeader(MODULE_WITH_TYPE), { kind: 'module', version: 1, layer: 0 });
    // The test binaries are real modules, as V8 confirms.
    assert.equal(WebAssembly.validate(EMPTY_MODULE), true);
    assert.equal(WebAssembly.validate(MODULE_WITH_TYPE), true);
  });

  it('reads a component (version 0x0d, layer 1)', () => {
    assert.deepEqual(parseWasmHeader(EMPTY_COMPONENT), {
      kind: 'component',
      version: 0x0d,
      layer: 1,
    });
    // V8 only runs core modules: it refuses the component header, which is the point.
    assert.equal(WebAssembly.validate(EMPTY_COMPONENT), false);
  });

  it('accepts earlier component drafts with layer 1', () => {
    const draft = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x0a, 0x00, 0x01, 0x00]);
    assert.equal(parseWasmHeader(draft).kind, 'component');
    assert.equal(parseWasmHeader(draft).version, 0x0a);
  });

  it('refuses a wrong magic, naming the bytes found', () => {
    const gzip = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0]);
    assert.throws(() => parseWasmHeader(gzip, 'layer X'), wasmError('bad-magic'));
    assert.throws(() => parseWasmHeader(gzip, 'layer X'), /layer X .*0x1f8b0800/);
    assert.equal(hasWasmMagic(gzip), false);
    assert.equal(hasWasmMagic(EMPTY_MODULE), true);
  });

  it('refuses empty, truncated and unknown-version binaries', () => {
    assert.throws(() => parseWasmHeader(Buffer.alloc(0)), wasmError('empty'));
    assert.throws(() => parseWasmHeader(EMPTY_MODULE.subarray(0, 6)), wasmError('bad-version'));
    const v2 = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00]);
    assert.throws(() => parseWasmHeader(v2), wasmError('bad-version'));
    const layer2 = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x02, 0x00]);
    assert.throws(() => parseWasmHeader(layer2), /unknown WebAssembly version 13 \(layer 2\)/);
  });

  it('reads the header of a subarray at an offset', () => {
    const padded = Buffer.concat([Buffer.from('xxxx'), EMPTY_COMPONENT]);
    assert.equal(parseWasmHeader(padded.subarray(4)).kind, 'component');
  });

  it('maps binary kinds to WASI versions', () => {
    assert.equal(wasiVersionOfKind('module'), 'preview1');
    assert.equal(wasiVersionOfKind('component'), 'preview2');
  });
});

describe('componentWorld', () => {
  it('lists top-level import and export names, skipping other sections', () => {
    assert.deepEqual(componentWorld(componentWithWorld()), {
      imports: ['wasi:cli/environment@0.2.0', 'wasi:io/streams@0.2.0'],
      exports: ['wasi:cli/run@0.2.0'],
    });
  });

  it('is empty for an empty component', () => {
    assert.deepEqual(componentWorld(EMPTY_COMPONENT), { imports: [], exports: [] });
  });

  it('keeps the names read before a truncation instead of failing', () => {
    const full = componentWithWorld();
    // Cut inside the export section: the imports survive, the export is lost.
    const cut = full.subarray(0, full.length - 3);
    const world = componentWorld(cut);
    assert.deepEqual(world.imports, ['wasi:cli/environment@0.2.0', 'wasi:io/streams@0.2.0']);
    assert.deepEqual(world.exports, []);
  });
});
