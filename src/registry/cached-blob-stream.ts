import { Readable } from 'node:stream';
import { type BodySink, canPipeTo, pipeReadableTo } from '../transport/body-sink.js';
import type { BlobStream } from './blobs.js';

/**
 * A stream over bytes already checked, with `pipeTo` as every blob stream has. The inner
 * stream is not read until the first `_read` or `pipeTo`: reading it from the start would
 * move its first bytes into this stream's buffer, where a later `pipeTo` never sees them.
 */
class CachedBlobStream extends Readable {
  private started = false;

  constructor(private readonly inner: Readable) {
    super();
    inner.once('error', (err) => this.destroy(err));
  }

  override _read(): void {
    if (!this.started) {
      this.started = true;
      this.inner.on('data', (chunk: Buffer) => {
        if (!this.push(chunk)) this.inner.pause();
      });
      this.inner.once('end', () => this.push(null));
    }
    this.inner.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.destroy();
    callback(err);
  }

  /** Hand the bytes to `sink` (the inner stream's own `pipeTo` when it has one). */
  pipeTo(sink: BodySink): Promise<void> {
    if (this.started) throw new Error('pipeTo on a blob stream already being read');
    this.started = true;
    const inner = this.inner;
    return canPipeTo(inner) ? inner.pipeTo(sink) : pipeReadableTo(inner, sink);
  }
}

/** `inner` (already verified, or verifying as it streams) as a {@link BlobStream}. */
export function blobStreamOf(inner: Readable): BlobStream {
  return new CachedBlobStream(inner) as CachedBlobStream & BlobStream;
}

/** Bytes already checked, as a {@link BlobStream}. */
export function blobStreamOfBytes(bytes: Buffer): BlobStream {
  return blobStreamOf(Readable.from([bytes]));
}
