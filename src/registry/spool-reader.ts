import { read } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { BlobDownload } from './blob-download.js';

const readAsync = promisify(read);

/** Reads of up to 1 MiB, as the registry's own blob reads. */
const CHUNK = 1 << 20;

/**
 * Follows a {@link BlobDownload}'s spool file from `start` to `end` (inclusive): pushes
 * what is there, waits for more, and fails as soon as the download fails. A whole read
 * (`whole`) ends only once the download verified the blob, so its consumer sees the end
 * of a blob only when the bytes are right; a range ends with its last byte.
 */
export class SpoolReader extends Readable {
  private position: number;
  private wanted = false;
  private pumping = false;
  private released = false;

  constructor(
    private readonly download: BlobDownload,
    start: number,
    private readonly end: number,
    private readonly whole: boolean,
    private readonly onRelease: () => void,
  ) {
    super({ highWaterMark: CHUNK });
    this.position = start;
  }

  override _read(): void {
    this.wanted = true;
    if (!this.pumping) void this.pump();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.release();
    callback(err);
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    const d = this.download;
    try {
      while (this.wanted && !this.destroyed) {
        if (d.state === 'failed') {
          this.destroy(d.failure);
          return;
        }
        if (this.position > this.end) {
          if (!this.whole || d.state === 'verified') {
            this.push(null);
            this.release();
            return;
          }
          await d.changed;
          continue;
        }
        const available = Math.min(d.received, this.end + 1) - this.position;
        if (available <= 0) {
          await d.changed;
          continue;
        }
        const buffer = Buffer.allocUnsafe(Math.min(CHUNK, available));
        const { bytesRead } = await readAsync(d.file.fd, buffer, 0, buffer.length, this.position);
        if (this.destroyed) return;
        if (bytesRead === 0) throw new Error(`spool of ${d.digest} ended before its writes`);
        this.position += bytesRead;
        this.wanted = false;
        // `push` may call `_read` synchronously, which sets `wanted` again.
        if (this.push(buffer.subarray(0, bytesRead))) this.wanted = true;
      }
    } catch (err) {
      this.destroy(err as Error);
    } finally {
      this.pumping = false;
    }
  }
}
