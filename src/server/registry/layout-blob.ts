import type { Readable } from 'node:stream';
import { parseDigest } from '../../digest/index.js';
import { DigestMismatchError, isOcipeekError, NotFoundError } from '../../errors/index.js';
import { closeBlobFile, type OpenedBlobFile, openBlobFile } from '../../layout/blob-file.js';
import { type BlobReadOptions, BlobReadStream } from '../../layout/blob-read-stream.js';
import { FileHasher } from '../storage/file-hasher.js';
import type { BackendBlob, BackendBlobOptions } from '../storage/registry-storage.js';
import type { VerifiedBlobs } from './verified-blobs.js';

/**
 * Bytes per read, and so per socket write, of a blob served ({@link BlobReadOptions.pieceBytes}).
 * Not the 1 MiB of other readers: a transfer holds two pieces, so 64 clients held 128 MiB
 * of buffers, and the thread pool's reads into them cost more CPU. Paired runs under the
 * load case's pull (bench/scripts/blob-cpu.ts, bench/ANALYSIS.md 2026-12-03 h18): server
 * CPU per GB 0.93× (median of 6 pairs, 0.78-1.09; the thread pool's CPU 0.68×, lower in
 * every pair), peak RSS 153 → 105 MB at 32 clients; 128 KiB cost more CPU than 1 MiB.
 */
const SERVE_PIECE_BYTES = 256 * 1024;

/**
 * A blob file of a layout, opened by `openBlobFile` (a regular file inside the layout,
 * never a link), served from that fd only, through the layouts' one reader
 * ({@link BlobReadStream}: the server hands it to the response with `pipeTo`, two reused
 * buffers per transfer). A file not yet known good is hashed once, on the hashing thread,
 * for all the readers that come while that runs: whole reads stream meanwhile and end
 * only once it matched; ranges are served only once the file is known good.
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
    const { range, signal } = options;
    const whole = range ? { start: range.start, end: range.end, signal } : { signal };
    if (verified.has(digest, file.identity)) return this.stream(whole);
    // Not known good: one hash on the hashing thread, shared by every reader of this file
    // that comes while it runs. The hash that reads through this blob's fd keeps it open.
    let own: Promise<void> | undefined;
    const checked = verified.verify(digest, file.identity, () => {
      own = this.hashWhole();
      return own;
    });
    checked.catch(() => {}); // handled where awaited
    if (range) {
      try {
        await checked;
      } catch (err) {
        await closeBlobFile(file.fd);
        throw err;
      }
      return this.stream(whole);
    }
    // Streams as it hashes; a corrupt file fails the stream before its end.
    const stream = this.stream({ signal, verified: checked, keepOpen: own !== undefined });
    if (own) {
      const closed = new Promise((resolve) => stream.once('close', resolve));
      void Promise.allSettled([closed, own]).then(() => closeBlobFile(file.fd));
    }
    return stream;
  }

  /** Hash the whole file through this blob's fd on the hashing thread; reject on a mismatch. */
  private async hashWhole(): Promise<void> {
    const { algorithm, hex } = parseDigest(this.digest);
    const actual = await FileHasher.shared
      .open({ fd: this.file.fd }, algorithm)
      .digest(this.file.size);
    if (actual !== hex) {
      throw new DigestMismatchError(this.digest, `${algorithm}:${actual}`, 'blob');
    }
  }

  async close(): Promise<void> {
    if (this.used) return;
    this.used = true;
    await closeBlobFile(this.file.fd);
  }

  /** A reader over the fd that closes it when done (unless `keepOpen`). */
  private stream(options: BlobReadOptions): BlobReadStream {
    const missing = () => new NotFoundError(`blob ${this.digest} is gone`, 'BLOB_UNKNOWN');
    return new BlobReadStream(Promise.resolve(this.file), missing, {
      ...options,
      pieceBytes: SERVE_PIECE_BYTES,
    });
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
