import { read } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { BodySink, SinkSource } from '../transport/body-sink.js';
import type { BlobDownload } from './blob-download.js';

const readAsync = promisify(read);

/** Reads of up to 1 MiB, as the registry's own blob reads. */
const CHUNK = 1 << 20;
/**
 * Pieces {@link SpoolReader.pipeTo} reads into (two reused per reader): many clients
 * follow one download at once, so what each holds is what the cache's memory grows with.
 */
const PIPE_CHUNK = 256 << 10;

/**
 * Follows a {@link BlobDownload}'s spool file from `start` to `end` (inclusive): pushes
 * what is there, waits for more, and fails as soon as the download fails. A whole read
 * (`whole`) ends only once the download verified the blob, so its consumer sees the end
 * of a blob only when the bytes are right; a range ends with its last byte.
 *
 * {@link pipeTo} (what the server's `sendBlobBody` and the library's blob streams use)
 * reads into two 256 KiB buffers reused for the whole blob, one filled while the sink
 * sends the other, where stream reads take a fresh 1 MiB buffer each and queue up to
 * 1 MiB more: with 32 curl clients of one cold 96 MiB blob, `ocipeek serve --upstream`
 * peaked at 86-90 MB RSS (VmHWM) where stream reads took 179 MB.
 */
export class SpoolReader extends Readable implements SinkSource {
  private position: number;
  private wanted = false;
  private pumping = false;
  private released = false;
  private piped = false;

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

  /** Hand the bytes to `sink` through two reused buffers (instead of reading the stream). */
  async pipeTo(sink: BodySink): Promise<void> {
    if (this.piped || this.pumping || this.readableLength > 0) {
      throw new Error('the spool reader is already being read');
    }
    this.piped = true;
    const d = this.download;
    const buffers = [Buffer.allocUnsafeSlow(PIPE_CHUNK), Buffer.allocUnsafeSlow(PIPE_CHUNK)];
    let inSink: Promise<void> | undefined;
    try {
      // Turns change only when a buffer was filled: a wait for more bytes uses none.
      for (let turn = 0; ; ) {
        if (this.destroyed) throw this.errored ?? new Error('the spool reader was destroyed');
        if (d.state === 'failed') throw d.failure;
        const available = Math.min(d.received, this.end + 1) - this.position;
        if (available <= 0) {
          if (this.position > this.end && (!this.whole || d.state === 'verified')) break;
          await d.changed;
          continue;
        }
        // The buffer read into now went to the sink two turns ago, awaited below.
        const buffer = buffers[turn] as Buffer;
        const length = Math.min(buffer.length, available);
        const { bytesRead } = await readAsync(d.file.fd, buffer, 0, length, this.position);
        if (bytesRead === 0) throw new Error(`spool of ${d.digest} ended before its writes`);
        this.position += bytesRead;
        if (inSink) await inSink;
        inSink = sink(buffer.subarray(0, bytesRead)) ?? undefined;
        turn ^= 1;
        // Handled now (awaited next turn): a rejection during the next read is not unhandled.
        inSink?.catch(() => {});
      }
      if (inSink) await inSink;
    } catch (err) {
      await inSink?.catch(() => {});
      // The caller gets the error from this promise; as an event nobody listens for it.
      this.destroy();
      throw err;
    }
    this.release();
    this.destroy();
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
