import type { Readable } from 'node:stream';
import { parseDigest, VerifyingStream } from '../../../digest/index.js';
import { NotFoundError } from '../../../errors/index.js';
import type { BackendBlob, BackendBlobOptions, BackendCallOptions } from '../registry-storage.js';
import type { ObjectInfo, S3Objects } from './s3-objects.js';

/** The key of blob `digest`: `blobs/ALG/HEX`, as in an OCI layout. */
export function blobKey(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

/**
 * A blob object opened for one request: its size from a HEAD, its bytes from a GET of
 * that same version (`If-Match` its ETag), so the size announced and the bytes sent agree
 * even if the object is replaced meanwhile.
 *
 * A whole read is verified as it streams (a corrupt object fails before its end). A range
 * is served as stored: every object under `blobs/` was verified before it was written
 * (the storage writes nothing else there), and a range alone cannot be checked. With
 * redirects on, the client is sent to a presigned URL instead and the bytes never pass
 * through the server (nor its checks).
 */
export class S3Blob implements BackendBlob {
  constructor(
    private readonly objects: S3Objects,
    private readonly digest: string,
    private readonly info: ObjectInfo,
    /** Presigns a GET of this object, when reads are redirected (`--s3-redirect`). */
    private readonly presign?: (key: string, signal?: AbortSignal) => Promise<string>,
  ) {}

  get size(): number {
    return this.info.size;
  }

  async read(options: BackendBlobOptions = {}): Promise<Readable> {
    const { range, signal } = options;
    const body = await this.objects.stream(this.info.key, {
      range,
      etag: this.info.etag,
      signal,
    });
    if (!body) throw new NotFoundError(`blob ${this.digest}`);
    if (range) return body;
    const checked = new VerifyingStream({ digest: this.digest, size: this.info.size });
    body.on('error', (err) => checked.destroy(err));
    checked.on('close', () => body.destroy());
    return body.pipe(checked);
  }

  async close(): Promise<void> {}

  async redirect(options: BackendCallOptions = {}): Promise<string | undefined> {
    return this.presign?.(this.info.key, options.signal);
  }
}
