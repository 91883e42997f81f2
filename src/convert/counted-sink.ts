import { createHash, type Hash } from 'node:crypto';
import type { Writable } from 'node:stream';

/**
 * The byte sink of a layer writer: counts and hashes what goes out, and waits for the sink
 * when it asks to. `offset` is where the next byte lands, which the lazy formats record.
 */
export class CountedSink {
  offset = 0;
  private readonly hash: Hash = createHash('sha256');

  constructor(private readonly sink: Writable) {}

  async write(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    this.hash.update(bytes);
    this.offset += bytes.length;
    if (!this.sink.write(bytes)) {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        this.sink.once('error', onError);
        this.sink.once('drain', () => {
          this.sink.off('error', onError);
          resolve();
        });
      });
    }
  }

  /** sha256 of everything written. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}
