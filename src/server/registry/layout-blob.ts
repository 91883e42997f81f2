import { createReadStream, read } from 'node:fs';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createDigester, parseDigest, VerifyingStream } from '../../digest/index.js';
import { DigestMismatchError } from '../../errors/index.js';
import { closeBlobFile, type OpenedBlobFile } from '../../layout/blob-file.js';
import type { BackendBlob, BackendBlobOptions } from './backend.js';
import type { VerifiedBlobs } from './verified-blobs.js';

const readAsync = promisify(read);

/** Reads of 1 MiB: a thread-pool round trip per 64 KiB (the default) shows on big layers. */
const CHUNK = 1 << 20;

/**
 * A blob file of a layout, opened by `openBlobFile` (a regular file inside the layout,
 * never a link), served from that fd only. Whole reads are hashed as they stream unless
 * the file is already known good; ranges are served only once the file is known good.
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
    if (range) {
      if (!known) {
        try {
          await this.checkWhole(signal);
        } catch (err) {
          await closeBlobFile(file.fd);
          throw err;
        }
      }
      return this.stream(range.start, range.end, signal);
    }
    const whole = this.stream(undefined, undefined, signal);
    if (known) return whole;
    const checked = new VerifyingStream({ digest });
    whole.on('error', (err) => checked.destroy(err));
    checked.on('close', () => whole.destroy());
    // 'end' only comes after the digest matched.
    checked.once('end', () => verified.add(digest, file.identity));
    return whole.pipe(checked);
  }

  async close(): Promise<void> {
    if (this.used) return;
    this.used = true;
    await closeBlobFile(this.file.fd);
  }

  /** A stream over the fd that closes it when done. */
  private stream(start: number | undefined, end: number | undefined, signal?: AbortSignal) {
    return createReadStream('', { fd: this.file.fd, start, end, highWaterMark: CHUNK, signal });
  }

  /** Hash the whole file through the fd and remember it when it matches. */
  private async checkWhole(signal: AbortSignal | undefined): Promise<void> {
    const { algorithm, hex } = parseDigest(this.digest);
    const hash = createDigester(algorithm);
    const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(CHUNK, this.file.size)));
    for (let position = 0; position < this.file.size; ) {
      signal?.throwIfAborted();
      const want = Math.min(buffer.length, this.file.size - position);
      const { bytesRead } = await readAsync(this.file.fd, buffer, 0, want, position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
    const actual = hash.digest('hex');
    if (actual !== hex) {
      throw new DigestMismatchError(this.digest, `${algorithm}:${actual}`, 'stored blob');
    }
    this.verified.add(this.digest, this.file.identity);
  }
}
