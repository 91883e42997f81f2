import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { InvalidWasmError } from '../../../src/errors/index.js';
import type { Descriptor, ImageManifest } from '../../../src/media/index.js';
import { parseReference } from '../../../src/ref/index.js';
import {
  buildWasmArtifact,
  detectArtifactType,
  findWasmLayer,
  moduleNameFromConfig,
  moduleNameOf,
  wasmInfoOf,
} from '../../../src/wasm/index.js';
import { componentWithWorld, EMPTY_COMPONENT, EMPTY_MODULE } from './wasm-binaries.js';

const D1 = 'sha256:'.padEnd(71, '1');
const D2 = 'sha256:'.padEnd(71, '2');
const TITLE = 'org.opencontainers.image.title';

function manifestWith(layers: Descriptor[], annotations?: Record<string, string>): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.wasm.config.v0+json', digest: D1, size: 2 },
    layers,
    ...(annotations ? { annotations } : {}),
  };
}

describe('findWasmLayer', () => {
  it('picks the one wasm-typed layer among others', () => {
    const wasm = { mediaType: 'application/wasm', digest: D2, size: 8 };
    const other = { mediaType: 'application/json', digest: D1, size: 3 };
    assert.equal(findWasmLayer(manifestWith([other, wasm])), wasm);
  });

  it('refuses several wasm layers', () => {
    const m = manifestWith([
      { mediaType: 'application/wasm', digest: D1, size: 8 },
      { mediaType: 'application/vnd.wasm.content.layer.v1+wasm', digest: D2, size: 8 },
    ]);
    assert.throws(
      () => findWasmLayer(m),
      (err: unknown) =>
        err instanceof InvalidWasmError &&
        err.reason === 'several-layers' &&
        err.message.includes('2 wasm layers'),
    );
  });

  it('takes a sole non-filesystem layer, but not tar layers', () => {
    const raw = { mediaType: 'application/octet-stream', digest: D1, size: 8 };
    assert.equal(findWasmLayer(manifestWith([raw])), raw);
    const tar = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D1, size: 9 };
    assert.equal(findWasmLayer(manifestWith([tar])), undefined);
    assert.equal(findWasmLayer(manifestWith([])), undefined);
  });
});

describe('module name', () => {
  const ref = parseReference('127.0.0.1:5000/team/apps/hello-world:1.0');

  it('prefers the layer title', () => {
    const layer = {
      mediaType: 'application/wasm',
      digest: D1,
      size: 8,
      annotations: { [TITLE]: 'hello.wasm' },
    };
    assert.equal(moduleNameOf(layer, { name: 'from-config' }, ref), 'hello.wasm');
  });

  it('falls back to the config: name, title, annotations, labels, wasm entrypoint', () => {
    assert.equal(moduleNameFromConfig({ name: 'n' }), 'n');
    assert.equal(moduleNameFromConfig({ title: 't' }), 't');
    assert.equal(moduleNameFromConfig({ annotations: { [TITLE]: 'a.wasm' } }), 'a.wasm');
    assert.equal(moduleNameFromConfig({ config: { Labels: { [TITLE]: 'l.wasm' } } }), 'l.wasm');
    assert.equal(moduleNameFromConfig({ config: { Entrypoint: ['/app/srv.wasm'] } }), 'srv.wasm');
    assert.equal(moduleNameFromConfig({ config: { Entrypoint: ['/bin/sh'] } }), undefined);
    assert.equal(moduleNameFromConfig({ name: '' }), undefined);
    assert.equal(moduleNameFromConfig('x'), undefined);
    const layer = { mediaType: 'application/wasm', digest: D1, size: 8 };
    assert.equal(moduleNameOf(layer, { name: 'from-config' }, ref), 'from-config');
  });

  it('falls back to the repository basename', () => {
    assert.equal(moduleNameOf(undefined, { architecture: 'wasm' }, ref), 'hello-world');
    assert.equal(moduleNameOf(undefined, undefined, undefined), undefined);
  });
});

describe('wasmInfoOf', () => {
  it('merges manifest and layer annotations, layer winning', () => {
    const layer = {
      mediaType: 'application/wasm',
      digest: D2,
      size: 8,
      annotations: { [TITLE]: 'x.wasm', shared: 'layer' },
    };
    const m = manifestWith([layer], { shared: 'manifest', only: 'manifest' });
    const info = wasmInfoOf(m, { wasiVersion: 'unknown', signal: 'configMediaType' });
    assert.deepEqual(info, {
      wasiVersion: 'unknown',
      signal: 'configMediaType',
      layerDigest: D2,
      size: 8,
      layerMediaType: 'application/wasm',
      moduleName: 'x.wasm',
      annotations: { shared: 'layer', only: 'manifest', [TITLE]: 'x.wasm' },
    });
  });
});

describe('buildWasmArtifact', () => {
  it('describes a module: artifactType, wasip1 config, application/wasm layer', () => {
    const a = buildWasmArtifact(EMPTY_MODULE, {
      title: 'm.wasm',
      created: '2024-05-01T00:00:00Z',
      annotations: { 'org.example': 'yes' },
    });
    assert.equal(a.artifactType, 'application/vnd.wasm.module.v1+wasm');
    assert.deepEqual(JSON.parse(a.configBytes.toString()), {
      created: '2024-05-01T00:00:00Z',
      architecture: 'wasm',
      os: 'wasip1',
      layerDigests: [a.layer.digest],
    });
    const m = JSON.parse(a.manifestBytes.toString());
    assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(m.config.mediaType, 'application/vnd.wasm.config.v0+json');
    assert.equal(m.config.size, a.configBytes.length);
    assert.deepEqual(m.layers, [
      {
        mediaType: 'application/wasm',
        digest: `sha256:${createHash('sha256').update(EMPTY_MODULE).digest('hex')}`,
        size: 8,
        annotations: { [TITLE]: 'm.wasm' },
      },
    ]);
    assert.deepEqual(m.annotations, { 'org.example': 'yes' });
    // What was built is what detection reads back.
    assert.deepEqual(detectArtifactType(m, JSON.parse(a.configBytes.toString())), {
      kind: 'wasm',
      wasiVersion: 'preview1',
      signal: 'artifactType',
    });
  });

  it('describes a component with its world in the config', () => {
    const a = buildWasmArtifact(componentWithWorld(), { created: '2024-05-01T00:00:00Z' });
    assert.equal(a.artifactType, 'application/vnd.wasm.component.v1+wasm');
    assert.equal(a.config.os, 'wasip2');
    assert.deepEqual(a.config.component, {
      imports: ['wasi:cli/environment@0.2.0', 'wasi:io/streams@0.2.0'],
      exports: ['wasi:cli/run@0.2.0'],
    });
    assert.equal(a.layer.annotations?.[TITLE], 'module.wasm');
    assert.equal(buildWasmArtifact(EMPTY_COMPONENT).config.component?.imports.length, 0);
  });

  it('refuses bytes that are not wasm', () => {
    assert.throws(
      () => buildWasmArtifact(Buffer.from('#!/bin/sh\necho hi\n'), { title: 'x.sh' }),
      (err: unknown) => err instanceof InvalidWasmError && err.reason === 'bad-magic',
    );
  });
});
