import type { TarEntry } from '../tar/index.js';

/**
 * The entries of one layer as its scan finds them, for a consumer that applies them while
 * the rest of the layer is still downloading. The scan pushes entries and calls
 * {@link EntryFeed.flush} after each chunk; {@link EntryFeed.batches} yields whatever
 * arrived since the consumer last looked. Entries handed over are not kept.
 */
export class EntryFeed {
  private pending: TarEntry[] = [];
  private ended = false;
  private failure: unknown;
  private wake: (() => void) | undefined;

  /** Add one entry (the scan's sink). */
  readonly push = (entry: TarEntry): void => {
    this.pending.push(entry);
  };

  /** Take a whole listing at once (a layer whose listing was cached). */
  fill(entries: readonly TarEntry[]): void {
    for (const e of entries) this.pending.push(e);
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
