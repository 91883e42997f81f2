import type { Readable } from 'node:stream';
import { InvalidArgumentError, LazyLayerError, OcipeekError } from '../errors/index.js';
import type { Descriptor } from '../media/index.js';
import type { Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import type { Store } from '../store/index.js';
import { requiredOption } from '../util/required-option.js';

/** Options of {@link BlobRangeSource} reads. */
export interface RangeReadOptions {
  signal?: AbortSignal;
}

/**
 * Random access to the compressed bytes of one blob. Bytes read this way cannot be checked
 * against the blob digest: lazy readers verify what they get against TOC and chunk digests.
 */
export interface BlobRangeSource {
  /** How the blob is named in errors (`layer 1 (sha256:…)`). */
  readonly description: string;
  /** The blob's size from its descriptor. */
  readonly size: number;
  /** Bytes fetched so far through this source (what a range read cost). */
  readonly bytesRead: number;
  /** Range requests (or file reads) made so far. */
  readonly requests: number;
  /** Set once a server answered a range request with the whole blob. */
  readonly rangeIgnored: boolean;
  /** Bytes `start` (inclusive) to `end` (exclusive), exactly `end - start` of them. */
  read(start: number, end: number, options?: RangeReadOptions): Promise<Buffer>;
  /** The last `length` bytes (a suffix range on registries: `Range: bytes=-N`). */
  tail(length: number, options?: RangeReadOptions): Promise<Buffer>;
}

/** Stop a body we no longer want; Node reports that as an "aborted" error nobody needs to see. */
function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

/** Read exactly `length` bytes after skipping `skip`, then stop the stream. */
async function collect(
  body: Readable,
  skip: number,
  length: number,
  onBytes: (n: number) => void,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  let have = 0;
  let toSkip = skip;
  try {
    for await (const raw of body as AsyncIterable<Buffer>) {
      onBytes(raw.length);
      let chunk = raw;
      if (toSkip > 0) {
        if (chunk.length <= toSkip) {
          toSkip -= chunk.length;
          continue;
        }
        chunk = chunk.subarray(toSkip);
        toSkip = 0;
      }
      parts.push(chunk);
      have += chunk.length;
      if (have >= length) break;
    }
  } finally {
    discard(body);
  }
  return Buffer.concat(parts, Math.min(have, length));
}

abstract class CountingSource implements BlobRangeSource {
  bytesRead = 0;
  requests = 0;
  rangeIgnored = false;

  constructor(
    readonly description: string,
    readonly size: number,
  ) {}

  protected check(start: number, end: number): void {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
      throw new InvalidArgumentError(`bad byte range ${start}..${end}`);
    }
    if (end > this.size) {
      throw new LazyLayerError(
        this.description,
        'offset',
        `bytes ${start}..${end} lie outside the blob (${this.size} bytes)`,
      );
    }
  }

  protected short(start: number, end: number, got: number): LazyLayerError {
    return new LazyLayerError(
      this.description,
      'range',
      `asked for bytes ${start}..${end}, got ${got} bytes`,
    );
  }

  abstract read(start: number, end: number, options?: RangeReadOptions): Promise<Buffer>;

  tail(length: number, options?: RangeReadOptions): Promise<Buffer> {
    if (length > this.size) {
      throw new LazyLayerError(
        this.description,
        'footer',
        `blob is ${this.size} bytes, too small for a ${length}-byte footer`,
      );
    }
    return this.read(this.size - length, this.size, options);
  }
}

class RegistryRangeSource extends CountingSource {
  constructor(
    private readonly client: RegistryClient,
    private readonly repo: Reference | string,
    private readonly digest: string,
    description: string,
    size: number,
  ) {
    super(description, size);
  }

  async read(start: number, end: number, options: RangeReadOptions = {}): Promise<Buffer> {
    this.check(start, end);
    if (end === start) return Buffer.alloc(0);
    return this.fetch(start, end - 1, start, end, options);
  }

  override async tail(length: number, options: RangeReadOptions = {}): Promise<Buffer> {
    if (length > this.size) return super.tail(length, options);
    return this.fetch(-length, undefined, this.size - length, this.size, options);
  }

  private async fetch(
    rangeStart: number,
    rangeEnd: number | undefined,
    start: number,
    end: number,
    options: RangeReadOptions,
  ): Promise<Buffer> {
    this.requests++;
    let range: Awaited<ReturnType<RegistryClient['openBlobRange']>>;
    try {
      range = await this.client.openBlobRange(this.repo, this.digest, rangeStart, rangeEnd, {
        signal: options.signal,
      });
    } catch (err) {
      if (err instanceof OcipeekError && err.code === 'ERR_REGISTRY') {
        throw new LazyLayerError(this.description, 'range', err.message, { cause: err });
      }
      throw err;
    }
    if (range.total !== undefined && range.total !== this.size) {
      discard(range.body);
      throw new LazyLayerError(
        this.description,
        'range',
        `the registry says the blob is ${range.total} bytes, its descriptor says ${this.size}`,
      );
    }
    if (range.rangeIgnored) this.rangeIgnored = true;
    else if (range.start !== start) {
      discard(range.body);
      throw new LazyLayerError(
        this.description,
        'range',
        `asked for bytes from ${start}, the registry answered from ${range.start}`,
      );
    }
    const skip = range.rangeIgnored ? start : 0;
    const bytes = await collect(range.body, skip, end - start, (n) => {
      this.bytesRead += n;
    });
    if (bytes.length !== end - start) throw this.short(start, end, bytes.length);
    return bytes;
  }
}

class StoreRangeSource extends CountingSource {
  constructor(
    private readonly store: Store,
    private readonly digest: string,
    description: string,
    size: number,
  ) {
    super(description, size);
  }

  async read(start: number, end: number, options: RangeReadOptions = {}): Promise<Buffer> {
    this.check(start, end);
    if (end === start) return Buffer.alloc(0);
    this.requests++;
    const body = this.store.openBlob(this.digest, {
      start,
      end: end - 1,
      verify: false,
      signal: options.signal,
    });
    const bytes = await collect(body, 0, end - start, (n) => {
      this.bytesRead += n;
    });
    if (bytes.length !== end - start) throw this.short(start, end, bytes.length);
    return bytes;
  }
}

/** Options of {@link registryRangeSource} and {@link storeRangeSource}. */
export interface RangeSourceOptions {
  /** How the blob is named in errors (default `layer DIGEST`). */
  description?: string;
}

/** Options of {@link registryRangeSource}. */
export interface RegistryRangeSourceOptions extends RangeSourceOptions {
  /** The client the ranges are fetched through. */
  client: RegistryClient;
}

/** Options of {@link storeRangeSource}. */
export interface StoreRangeSourceOptions extends RangeSourceOptions {
  /** The store holding the blob. */
  store: Store;
}

/**
 * Range reads of blob `descriptor` in repository `repo` of a registry.
 *
 * @example
 * ```ts
 * const source = registryRangeSource('127.0.0.1:5000/app:1', layer, { client });
 * const firstKiB = await source.read(0, 1024, { signal });
 * ```
 */
export function registryRangeSource(
  repo: Reference | string,
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
  options: RegistryRangeSourceOptions,
): BlobRangeSource {
  const description = options.description ?? `layer ${descriptor.digest}`;
  return new RegistryRangeSource(
    requiredOption(options, 'client', 'registryRangeSource(repo, descriptor, { client })'),
    repo,
    descriptor.digest,
    description,
    descriptor.size,
  );
}

/** Range reads of blob `descriptor` from the local store (the same TOCs, read from disk). */
export function storeRangeSource(
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
  options: StoreRangeSourceOptions,
): BlobRangeSource {
  const description = options.description ?? `layer ${descriptor.digest}`;
  const store = requiredOption(options, 'store', 'storeRangeSource(descriptor, { store })');
  return new StoreRangeSource(store, descriptor.digest, description, descriptor.size);
}

/** Range reads of bytes already in memory (tests, and blobs just written). */
export function bufferRangeSource(bytes: Buffer, description = 'blob'): BlobRangeSource {
  return new BufferRangeSource(bytes, description);
}

class BufferRangeSource extends CountingSource {
  constructor(
    private readonly bytes: Buffer,
    description: string,
  ) {
    super(description, bytes.length);
  }

  async read(start: number, end: number): Promise<Buffer> {
    this.check(start, end);
    this.requests++;
    this.bytesRead += end - start;
    return this.bytes.subarray(start, end);
  }
}
