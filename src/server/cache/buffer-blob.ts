import { Readable } from 'node:stream';
import type { BackendBlob, BackendBlobOptions } from '../storage/registry-storage.js';

/**
 * A blob held in memory (the memory tier), as the registry serves blobs. The bytes were
 * verified against their digest before they were held, so ranges need no check here.
 */
export class BufferBlob implements BackendBlob {
  constructor(private readonly bytes: Buffer) {}

  get size(): number {
    return this.bytes.length;
  }

  async read(options: BackendBlobOptions = {}): Promise<Readable> {
    const { range } = options;
    const part = range ? this.bytes.subarray(range.start, range.end + 1) : this.bytes;
    return Readable.from([part], { objectMode: false });
  }

  async close(): Promise<void> {}
}
