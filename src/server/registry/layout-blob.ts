import type { Readable } from 'node:stream';
import { isOcipeekError, NotFoundError } from '../../errors/index.js';
import { closeBlobFile, type OpenedBlobFile, openBlobFile } from '../../layout/blob-file.js';
import { type BlobReadOptions, BlobReadStream } from '../../layout/blob-read-stream.js';
import type { BackendBlob, BackendBlobOptions } from '../storage/registry-storage.js';
import type { VerifiedBlobs } from './verified-blobs.js';

/**
 * A blob file of a layout, opened by `openBlobFile` (a regular file inside the layout,
 * never a link), served from that fd only, through the layouts' one reader
 * ({@link BlobReadStream}: the server hands it to the response with `pipeTo`, two reused
 * buffers per transfer). Whole reads are hashed as they stream unless the file is already
 * known good; ranges are served only once the file is known good.
 */
export class LayoutBlob implements BackendBlob {
  private used = false;

  constructor(
    private readonly file: OpenedBlobFile,
    private readonly digest: string,
    private readonly verified: VerifiedBlobs,
  ) {}

  get size(): number {
    return this.file.size;
  }

  async read(options: BackendBlobOptions = {}): Promise<Readable> {
    this.used = true;
    const { file, digest, verified } = this;
    const known = verified.has(digest, file.identity);
    const { range, signal } = options;
    const remember = () => verified.add(digest, file.identity);
    if (range) {
      if (!known) {
        try {
          // Hashed whole through the same fd, which stays open for the range.
          await this.stream({
            verify: digest,
            onVerified: remember,
            keepOpen: true,
            signal,
          }).pipeTo(() => undefined); // only the hash is wanted
        } catch (err) {
          await closeBlobFile(file.fd);
          throw err;
        }
      }
      return this.stream({ start: range.start, end: range.end, signal });
    }
    // A corrupt file fails the stream before its end.
    return this.stream(known ? { signal } : { verify: digest, onVerified: remember, signal });
  }

  async close(): Promise<void> {
    if (this.used) return;
    this.used = true;
    await closeBlobFile(this.file.fd);
  }

  /** A reader over the fd that closes it when done (unless `keepOpen`). */
  private stream(options: BlobReadOptions): BlobReadStream {
    const missing = () => new NotFoundError(`blob ${this.digest} is gone`, 'BLOB_UNKNOWN');
    return new BlobReadStream(Promise.resolve(this.file), missing, options);
  }
}

/**
 * Open blob `digest` of the layout at `dir` for serving, or `undefined` when it has no
 * such regular file. A refused file (a link, a FIFO...) is logged on the server's side
 * only: the client learns no more than "unknown".
 */
export async function openLayoutBlob(
  dir: string,
  digest: string,
  verified: VerifiedBlobs,
  log?: (line: string) => void,
): Promise<LayoutBlob | undefined> {
  try {
    const file = await openBlobFile(dir, digest);
    return file && new LayoutBlob(file, digest, verified);
  } catch (err) {
    if (!isOcipeekError(err, NotFoundError.code)) throw err;
    log?.(`refused: ${err.message}`);
    return undefined;
  }
}
