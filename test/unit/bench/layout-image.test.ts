import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { layoutBlobWriter, layoutImage } from '../../../bench/scripts/layout-image.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('the bench scripts’ layout images (blob-cpu.ts, push-once.ts)', () => {
  it('writes each blob under its digest and names config and layers in the manifest', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'layout-image-'));
    try {
      const put = layoutBlobWriter(dir);
      const layer = Buffer.from('layer bytes');
      const l = put(layer);
      assert.deepEqual(l, { digest: `sha256:${sha256(layer)}`, size: layer.length });
      assert.deepEqual(readFileSync(path.join(dir, 'blobs', 'sha256', sha256(layer))), layer);
      for (const name of ['debian', undefined]) {
        const image = layoutImage(put, [l], name);
        const manifest = JSON.parse(image.bytes.toString());
        const config = readFileSync(
          path.join(dir, 'blobs', 'sha256', manifest.config.digest.slice(7)),
        );
        // The config the scripts pushed before they shared this: the same bytes, so the
        // same digests in the registry.
        const wanted = name
          ? '{"architecture":"amd64","os":"linux","name":"debian","rootfs":{}}'
          : '{"architecture":"amd64","os":"linux","rootfs":{}}';
        assert.equal(config.toString(), wanted);
        assert.equal(manifest.config.digest, `sha256:${sha256(config)}`);
        assert.deepEqual(manifest.layers, [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l },
        ]);
        assert.deepEqual(
          image.blobs.map((b) => b.digest),
          [manifest.config.digest, l.digest],
        );
        assert.equal(image.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
