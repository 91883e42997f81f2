import type { Readable } from 'node:stream';
import { InvalidArgumentError, RegistryError } from '../errors/index.js';
import type { Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import type { Store } from '../store/index.js';

/** One answer to a range read: a body starting at `start` of the blob. */
export interface PeekRange {
  body: Readable;
  /** First byte of `body` within the blob (0 when the range was ignored). */
  start: number;
  /** Total blob size, when the answer said. */
  total?: number;
  /** The server sent the whole blob instead of the range. */
  rangeIgnored: boolean;
}

/** Where a peek reads compressed bytes from: a registry (remote) or the store (local). */
export interface PeekRangeSource {
  /** True when bytes come over the network (they count as "fetched"). */
  readonly remote: boolean;
  /** Open bytes `start..end` (inclusive) of blob `digest`. */
  open(digest: string, start: number, end: number, signal?: AbortSignal): Promise<PeekRange>;
}

/** Range reads of blobs in repository `repo` through a registry client (one `Range` request each). */
export function registryPeekSource(
  repo: Reference | string,
  options: { client: RegistryClient },
): PeekRangeSource {
  const { client } = options;
  return {
    remote: true,
    open: (digest, start, end, signal) =>
      client.openBlobRange(repo, digest, start, end, { signal }),
  };
}

/** Range reads of blob files in the store (nothing is fetched). */
export function storePeekSource(options: { store: Store }): PeekRangeSource {
  const { store } = options;
  return {
    remote: false,
    open: async (digest, start, end, signal) => ({
      body: store.openBlob(digest, { start, end, verify: false, signal }),
      start,
      rangeIgnored: false,
    }),
  };
}

/** Options for a {@link RangeWindow}. */
export interface RangeWindowOptions {
  /** Compressed bytes of the first request. */
  initialBytes: number;
  /** Never read more than this many compressed bytes in all (default: the whole blob). */
  maxBytes?: number;
  /** Bytes of each further request (default: as many as read so far, at most 16 MiB). */
  growBy?: number;
  signal?: AbortSignal;
}

const MAX_DEFAULT_GROWTH = 16 * 1024 * 1024;

function checkPositive(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
    throw new InvalidArgumentError(`${name} must be a positive whole number, got ${value}`);
  }
}

/**
 * The growing window of compressed bytes a peek reads: the first `initialBytes` with one
 * range request, then — only when the consumer pulls past the end — the next chunk with
 * another request, up to `maxBytes` or the blob's end. Bytes are pulled from the response
 * body one network chunk at a time, so a consumer that stops leaves the rest unread (the
 * body is destroyed). A server that ignores `Range` is read from that one response up to
 * the same limit, then closed.
 */
export class RangeWindow {
  /** Compressed bytes received so far. */
  bytesRead = 0;
  /** Range requests made. */
  requests = 0;
  /** The server answered a range request with the whole blob. */
  rangeIgnored = false;
  /** Every byte of the blob has been received. */
  reachedEnd = false;
  private readonly limit: number;

  constructor(
    private readonly source: PeekRangeSource,
    private readonly blob: { digest: string; size: number },
    private readonly options: RangeWindowOptions,
  ) {
    checkPositive('initialBytes', options.initialBytes);
    checkPositive('maxBytes', options.maxBytes);
    checkPositive('growBy', options.growBy);
    if (!Number.isSafeInteger(blob.size) || blob.size < 0) {
      throw new InvalidArgumentError(`layer ${blob.digest}: invalid size ${blob.size}`);
    }
    this.limit = Math.min(options.maxBytes ?? blob.size, blob.size);
  }

  /** The compressed chunks, fetched lazily as they are pulled. */
  async *chunks(): AsyncGenerator<Buffer, void, undefined> {
    const { digest, size } = this.blob;
    let want = this.options.initialBytes;
    while (this.bytesRead < this.limit) {
      const start = this.bytesRead;
      const end = Math.min(start + want, this.limit) - 1;
      const range = await this.source.open(digest, start, end, this.options.signal);
      this.requests++;
      if (range.total !== undefined && range.total !== size) {
        range.body.destroy();
        throw new RegistryError(
          `layer ${digest}: the registry says the blob has ${range.total} bytes, the manifest says ${size}`,
          range.rangeIgnored ? 200 : 206,
        );
      }
      // With the range ignored the body is the whole blob: skip what we have, read on to
      // the limit from this one response.
      if (range.rangeIgnored) this.rangeIgnored = true;
      let skip = range.start < start ? start - range.start : 0;
      const stop = range.rangeIgnored ? this.limit : end + 1;
      try {
        for await (const raw of range.body as AsyncIterable<Buffer>) {
          let chunk = raw;
          if (skip > 0) {
            const n = Math.min(skip, chunk.length);
            chunk = chunk.subarray(n);
            skip -= n;
          }
          if (chunk.length > stop - this.bytesRead)
            chunk = chunk.subarray(0, stop - this.bytesRead);
          this.bytesRead += chunk.length;
          if (chunk.length > 0) yield chunk;
          if (this.bytesRead >= stop) break;
        }
      } finally {
        range.body.destroy();
      }
      if (range.rangeIgnored) break;
      if (this.bytesRead === start) {
        throw new RegistryError(
          `layer ${digest}: empty answer to the range request bytes=${start}-${end}`,
          206,
        );
      }
      want = this.options.growBy ?? Math.min(Math.max(this.bytesRead, want), MAX_DEFAULT_GROWTH);
    }
    this.reachedEnd = this.bytesRead >= size;
  }
}
