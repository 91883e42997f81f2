/**
 * Images of random layers written into a layout folder, for the scripts that push them
 * with the `load` case's client (blob-cpu.ts, push-once.ts).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PushImage } from '../load-clients.js';

/** A blob as a manifest names it. */
export interface LayoutBlob {
  digest: string;
  size: number;
}

/**
 * A writer of blobs into `dir`'s `blobs/sha256/`, each under its digest (where the load
 * client's `push` reads them).
 */
export function layoutBlobWriter(dir: string): (bytes: Buffer) => LayoutBlob {
  const blobs = path.join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  return (bytes) => {
    const hex = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(path.join(blobs, hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
}

/**
 * An OCI image of `layers` (gzip media type; the bytes are never unpacked) with a small
 * config (named `name` when given) written through `put`: what to push.
 */
export function layoutImage(
  put: (bytes: Buffer) => LayoutBlob,
  layers: LayoutBlob[],
  name?: string,
): PushImage {
  const config = put(
    Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', ...(name ? { name } : {}), rootfs: {} }),
    ),
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
  };
  return {
    bytes: Buffer.from(JSON.stringify(manifest)),
    mediaType: manifest.mediaType,
    blobs: [config, ...layers],
  };
}
