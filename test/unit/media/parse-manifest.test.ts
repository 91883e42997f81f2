import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidManifestError, UnsupportedError } from '../../../src/errors/index.js';
import { isIndex, layerCompression, MediaType, parseManifest } from '../../../src/media/index.js';

const d = { mediaType: MediaType.ociLayerGzip, digest: `sha256:${'a'.repeat(64)}`, size: 3 };
const buf = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('parseManifest', () => {
  it('parses an OCI manifest and an index', () => {
    const m = parseManifest(
      buf({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: d, layers: [d] }),
    );
    assert.equal(isIndex(m), false);
    const i = parseManifest(buf({ schemaVersion: 2, manifests: [d] }), MediaType.ociIndex);
    assert.equal(isIndex(i), true);
  });

  it('refuses Docker schema1 with an "unsupported" error', () => {
    assert.throws(
      () => parseManifest(buf({ schemaVersion: 1, name: 'x', fsLayers: [] })),
      UnsupportedError,
    );
    assert.throws(
      () => parseManifest(buf({ schemaVersion: 2 }), MediaType.dockerSchema1Signed),
      /schema1 manifests are unsupported/,
    );
  });

  it('refuses malformed manifests clearly', () => {
    assert.throws(() => parseManifest(Buffer.from('{not json')), InvalidManifestError);
    assert.throws(() => parseManifest(buf([1, 2])), /not a JSON object/);
    assert.throws(
      () => parseManifest(buf({ schemaVersion: 2, config: d, layers: [{ digest: 'x' }] })),
      /layers\[0\]/,
    );
    assert.throws(
      () => parseManifest(buf({ schemaVersion: 2, config: { ...d, size: -1 }, layers: [] })),
      /config/,
    );
    assert.throws(() => parseManifest(buf({ schemaVersion: 3 })), /schemaVersion/);
  });

  it('reads layer compression from media types', () => {
    assert.equal(layerCompression(MediaType.ociLayerGzip), 'gzip');
    assert.equal(layerCompression(MediaType.dockerLayerGzip), 'gzip');
    assert.equal(layerCompression(MediaType.ociLayerZstd), 'zstd');
    assert.equal(layerCompression(MediaType.ociLayer), 'none');
  });
});
