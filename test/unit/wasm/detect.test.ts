import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Descriptor, ImageManifest } from '../../../src/media/index.js';
import {
  type ArtifactType,
  detectArtifactType,
  isContainer,
  isPreview1,
  isPreview2,
  isWasm,
  targetTriple,
} from '../../../src/wasm/index.js';

const D = 'sha256:'.padEnd(71, 'a');

function manifest(parts: Partial<ImageManifest> = {}): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D, size: 10 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D, size: 10 }],
    ...parts,
  };
}

function layer(mediaType: string): Descriptor {
  return { mediaType, digest: D, size: 8 };
}

const WASM_CONFIG = { mediaType: 'application/vnd.wasm.config.v0+json', digest: D, size: 10 };

describe('detectArtifactType', () => {
  it('artifactType component → preview2, module → preview1', () => {
    assert.deepEqual(
      detectArtifactType(manifest({ artifactType: 'application/vnd.wasm.component.v1+wasm' })),
      { kind: 'wasm', wasiVersion: 'preview2', signal: 'artifactType' },
    );
    assert.deepEqual(
      detectArtifactType(manifest({ artifactType: 'application/vnd.wasm.module.v1+wasm' })),
      { kind: 'wasm', wasiVersion: 'preview1', signal: 'artifactType' },
    );
  });

  it('takes artifactType from the index entry when the manifest has none', () => {
    const entry: Descriptor = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: D,
      size: 1,
      artifactType: 'application/vnd.wasm.component.v1+wasm',
    };
    assert.deepEqual(detectArtifactType(manifest(), undefined, entry), {
      kind: 'wasm',
      wasiVersion: 'preview2',
      signal: 'artifactType',
    });
  });

  it('config media types v0 and v1 → wasm, version unknown', () => {
    for (const mediaType of [
      'application/vnd.wasm.config.v0+json',
      'application/vnd.wasm.config.v1+json',
    ]) {
      assert.deepEqual(
        detectArtifactType(manifest({ config: { mediaType, digest: D, size: 2 } })),
        {
          kind: 'wasm',
          wasiVersion: 'unknown',
          signal: 'configMediaType',
        },
      );
    }
  });

  it('each wasm layer media type → wasm, version unknown', () => {
    for (const mediaType of [
      'application/vnd.wasm.content.layer.v1+wasm',
      'application/vnd.module.wasm.content.layer.v1+wasm',
      'application/wasm',
    ]) {
      assert.deepEqual(detectArtifactType(manifest({ layers: [layer(mediaType)] })), {
        kind: 'wasm',
        wasiVersion: 'unknown',
        signal: 'layerMediaType',
      });
    }
  });

  it('a wasm platform in the index entry or the config → wasm, version unknown', () => {
    for (const os of ['wasi', 'wasip1', 'wasip2']) {
      const entry: Descriptor = {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: D,
        size: 1,
        platform: { os, architecture: 'wasm' },
      };
      const expected: ArtifactType = { kind: 'wasm', wasiVersion: 'unknown', signal: 'platform' };
      assert.deepEqual(detectArtifactType(manifest(), undefined, entry), expected);
      assert.deepEqual(
        detectArtifactType(manifest(), { os, architecture: 'wasm', rootfs: {} }),
        expected,
      );
    }
  });

  it('precedence: artifactType over config over layer over platform', () => {
    const all = manifest({
      artifactType: 'application/vnd.wasm.module.v1+wasm',
      config: WASM_CONFIG,
      layers: [layer('application/wasm')],
    });
    const wasmConfig = { os: 'wasip2', architecture: 'wasm' };
    assert.equal(
      (detectArtifactType(all, wasmConfig) as { signal: string }).signal,
      'artifactType',
    );
    const { artifactType: _a, ...noArtifact } = all;
    assert.equal(
      (detectArtifactType(noArtifact as ImageManifest, wasmConfig) as { signal: string }).signal,
      'configMediaType',
    );
    const layerOnly = manifest({ layers: [layer('application/wasm')] });
    assert.equal(
      (detectArtifactType(layerOnly, wasmConfig) as { signal: string }).signal,
      'layerMediaType',
    );
    assert.equal(
      (detectArtifactType(manifest(), wasmConfig) as { signal: string }).signal,
      'platform',
    );
  });

  it('an unrelated artifactType does not hide a later wasm signal', () => {
    const m = manifest({ artifactType: 'application/vnd.example+type', config: WASM_CONFIG });
    assert.deepEqual(detectArtifactType(m), {
      kind: 'wasm',
      wasiVersion: 'unknown',
      signal: 'configMediaType',
    });
  });

  it('never mistakes container images for wasm', () => {
    const linux = { os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [] } };
    assert.deepEqual(detectArtifactType(manifest(), linux), { kind: 'container' });
    const docker = manifest({
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: D, size: 1 },
      layers: [layer('application/vnd.docker.image.rootfs.diff.tar.gzip')],
    });
    const entry: Descriptor = {
      mediaType: docker.mediaType!,
      digest: D,
      size: 1,
      platform: { os: 'linux', architecture: 'arm64' },
    };
    assert.deepEqual(detectArtifactType(docker, linux, entry), { kind: 'container' });
    // A signature or SBOM artifact is not wasm either.
    const sbom = manifest({
      artifactType: 'application/spdx+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: D, size: 2 },
      layers: [layer('application/spdx+json')],
    });
    assert.deepEqual(detectArtifactType(sbom, {}), { kind: 'container' });
    // Garbage configs are ignored, not fatal.
    assert.deepEqual(detectArtifactType(manifest(), 'not an object'), { kind: 'container' });
    assert.deepEqual(detectArtifactType(manifest(), null), { kind: 'container' });
  });

  it('isWasm / isContainer', () => {
    const wasm = detectArtifactType(manifest({ layers: [layer('application/wasm')] }));
    const container = detectArtifactType(manifest());
    assert.equal(isWasm(wasm), true);
    assert.equal(isContainer(wasm), false);
    assert.equal(isWasm(container), false);
    assert.equal(isContainer(container), true);
  });
});

describe('WASI version helpers', () => {
  it('isPreview1 / isPreview2', () => {
    assert.equal(isPreview1('preview1'), true);
    assert.equal(isPreview1('preview2'), false);
    assert.equal(isPreview1('unknown'), false);
    assert.equal(isPreview2('preview2'), true);
    assert.equal(isPreview2('preview1'), false);
    assert.equal(isPreview2(null), false);
  });

  it('targetTriple', () => {
    assert.equal(targetTriple('preview1'), 'wasm32-wasip1');
    assert.equal(targetTriple('preview2'), 'wasm32-wasip2');
    assert.equal(targetTriple('unknown'), 'wasm32-wasi');
  });
});
