import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestOf } from '../digest/index.js';
import type { Descriptor, ImageIndex } from '../media/index.js';
import { MediaType } from '../media/index.js';

/**
 * Collects blobs in memory and writes them out as an OCI image layout. Only for small,
 * generated content (the built-in example): the real store lives in `src/store/`.
 */
export class MemoryLayoutWriter {
  private readonly blobs = new Map<string, Uint8Array>();

  /** Add `bytes` as a blob and return its descriptor. */
  add(bytes: Uint8Array, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor {
    const digest = digestOf(bytes);
    this.blobs.set(digest, bytes);
    return { mediaType, digest, size: bytes.length, ...extra };
  }

  /**
   * Add a JSON document as a blob. Serialised compactly in the key order given, which
   * is what makes the digests reproducible.
   */
  addJson(value: unknown, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor {
    return this.add(Buffer.from(JSON.stringify(value)), mediaType, extra);
  }

  /** Write every blob, `oci-layout` and an `index.json` listing `manifests` into `dir`. */
  async write(dir: string, manifests: Descriptor[], options: { signal?: AbortSignal } = {}) {
    const blobDir = join(dir, 'blobs', 'sha256');
    await mkdir(blobDir, { recursive: true });
    const sorted = [...this.blobs.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    for (const [digest, bytes] of sorted) {
      options.signal?.throwIfAborted();
      await writeFile(join(blobDir, digest.slice('sha256:'.length)), bytes);
    }
    await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
    // index.json last and by rename: a reader never sees it point at blobs not yet written.
    const tmp = join(dir, `.index.json.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(index));
    await rename(tmp, join(dir, 'index.json'));
  }
}
