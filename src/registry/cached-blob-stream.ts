import { Readable } from 'node:stream';
import { type BodySink, canPipeTo, pipeReadableTo } from '../transport/body-sink.js';
import type { BlobStream } from './blobs.js';

/** A stream over bytes already checked, with `pipeTo` as every blob stream has. */
class CachedBlobStream extends Readable {
  constructor(private readonly inner: Readable) {
    super();
    inner.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) inner.pause();
    });
    inner.once('end', () => this.push(null));
    inner.once('error', (err) => this.destroy(err));
  }

  override _read(): void {
    this.inner.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.destroy();
    callback(err);
  }

  /** Hand the bytes to `sink` (the inner stream's own `pipeTo` when it has one). */
  pipeTo(sink: BodySink): Promise<void> {
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
