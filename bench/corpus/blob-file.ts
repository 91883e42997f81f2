import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/** A layer blob written into an OCI layout. */
export interface LayerBlob {
  mediaType: string;
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar (the config's `rootfs.diff_ids` entry). */
  diffId: string;
  /** Uncompressed tar bytes. */
  tarSize: number;
}

/** A pass-through stream that hashes (sha256) and counts what flows through it. */
class HashTap extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    this.push(chunk);
    cb();
  }
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/**
 * Stream an uncompressed tar through gzip (`level`) into `layoutDir/blobs/sha256/`,
 * hashing both sides on the way, so layers of any size never sit in memory.
 */
export async function writeGzipLayer(
  layoutDir: string,
  tar: Readable,
  level: number,
): Promise<LayerBlob> {
  const dir = path.join(layoutDir, 'blobs', 'sha256');
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  const raw = new HashTap();
  const packed = new HashTap();
  try {
    await pipeline(
      tar,
      raw,
      createGzip({ level, chunkSize: 1 << 16 }),
      packed,
      createWriteStream(tmp),
    );
    const digest = packed.digest();
    await rename(tmp, path.join(dir, digest.slice('sha256:'.length)));
    return {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest,
      size: packed.size,
      diffId: raw.digest(),
      tarSize: raw.size,
    };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
