import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/**
 * A tar stream read twice: the tar reader iterates it (for entries, offsets and bodies)
 * while the layer writer takes the same bytes by absolute offset, so headers, padding and
 * the end of the archive are written exactly as they came (the tar reader hands out parsed
 * fields, not raw header bytes). Chunks the writer has not taken stay queued; the reader
 * runs at most a chunk ahead of the writer, so the queue stays small. Also hashes the
 * stream (the diff_id).
 */
export class RawTarBytes implements AsyncIterable<Buffer> {
  private queue: Buffer[] = [];
  /** Absolute offset of `queue[0][0]`. */
  private queueStart = 0;
  /** Absolute offset of the next byte the writer takes. */
  cursor = 0;
  /** Bytes the source has given so far. */
  length = 0;
  private readonly hash = createHash('sha256');

  constructor(private readonly source: Readable | AsyncIterable<Buffer>) {}

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for await (const chunk of this.source as AsyncIterable<Buffer>) {
      if (chunk.length === 0) continue;
      this.hash.update(chunk);
      this.queue.push(chunk);
      this.length += chunk.length;
      yield chunk;
    }
  }

  /** The bytes from the cursor to `end` (which the reader has passed), as one Buffer. */
  take(end: number): Buffer {
    const parts: Buffer[] = [];
    this.consume(end, parts);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Move the cursor to `end`, dropping the bytes (content already handled). */
  skip(end: number): void {
    this.consume(end);
  }

  /** Everything from the cursor to the end of the source. */
  takeAll(): Buffer {
    return this.take(this.length);
  }

  /** sha256 of the whole source, once it has been read. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }

  private consume(end: number, into?: Buffer[]): void {
    if (end > this.length) throw new Error(`tar bytes up to ${end} asked, ${this.length} read`);
    while (this.cursor < end) {
      const head = this.queue[0]!;
      const from = this.cursor - this.queueStart;
      const to = Math.min(head.length, end - this.queueStart);
      into?.push(head.subarray(from, to));
      this.cursor = this.queueStart + to;
      if (to === head.length) {
        this.queue.shift();
        this.queueStart += head.length;
      }
    }
  }
}
