import type { TarEntry } from '../tar/index.js';
import type { ListingDecoder } from './listing-codec.js';

/** Entries of a cached listing decoded at a time (see {@link EntryFeed.fillFrom}). */
const DECODED_BATCH = 1024;

/**
 * The entries of one layer as its scan finds them, for a consumer that applies them while
 * the rest of the layer is still downloading. The scan pushes entries and calls
 * {@link EntryFeed.flush} after each chunk; {@link EntryFeed.batches} yields whatever
 * arrived since the consumer last looked. Entries handed over are not kept.
 */
export class EntryFeed {
  private pending: TarEntry[] = [];
  /** A cached listing not decoded yet. */
  private source: ListingDecoder | undefined;
  private ended = false;
  private failure: unknown;
  private wake: (() => void) | undefined;

  /** Add one entry (the scan's sink). */
  readonly push = (entry: TarEntry): void => {
    this.pending.push(entry);
  };

  /**
   * Take a whole cached listing, decoded a batch at a time as the consumer asks, so that
   * its entries die young instead of all living until the layer is applied.
   */
  fillFrom(source: ListingDecoder): void {
    this.source = source;
    this.end();
  }

  /** Let a waiting consumer see what arrived. */
  flush(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** No more entries; with `failure`, the consumer's iteration throws it. */
  end(failure?: unknown): void {
    this.ended = true;
    this.failure = failure;
    this.flush();
  }

  /** New entries in arrival order, in batches; ends with the scan (or throws its error). */
  async *batches(): AsyncGenerator<TarEntry[], void, undefined> {
    for (;;) {
      if (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        yield batch;
        continue;
      }
      if (this.source !== undefined) {
        const batch = this.source.next(DECODED_BATCH);
        if (batch.length > 0) {
          yield batch;
          continue;
        }
        this.source = undefined;
      }
      if (this.ended) {
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}
