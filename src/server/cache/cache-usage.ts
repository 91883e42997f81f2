import type { RegistryStorage, StoredDocument } from '../storage/registry-storage.js';

/** `repository:tag` → when a client last pulled it (ms since the epoch). */
export type UsageTimes = Map<string, number>;

/** Where eviction looks up when a tag was last used (a {@link UsageTimes} is one). */
export interface UsageLookup {
  /** When `repository:tag` ({@link usageKey}) was last used (ms), when known. */
  get(key: string): number | undefined;
}

/** The key of `tag` of `repository` in {@link UsageTimes}. */
export function usageKey(repository: string, tag: string): string {
  return `${repository}:${tag}`;
}

/** The name of the usage document in a storage (`.ocipeek/cache/usage.json` in a store). */
const USAGE_DOCUMENT = 'cache/usage';

/** The usage document of `storage`, when it keeps documents (the store and S3 do). */
export function usageDocumentOf(storage: RegistryStorage): StoredDocument | undefined {
  return storage.document?.(USAGE_DOCUMENT);
}

/** Read a usage document; a missing or unreadable one is no usage known. */
export async function readUsage(document: StoredDocument | undefined): Promise<UsageTimes> {
  const times: UsageTimes = new Map();
  const parsed = await document?.read().catch(() => undefined);
  if (typeof parsed !== 'object' || parsed === null) return times;
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value === 'number' && Number.isFinite(value)) times.set(key, value);
  }
  return times;
}

/**
 * When each cached tag was last pulled: what `ocipeek cache ls` shows and what least
 * recently used eviction orders by. Uses are kept in memory and merged into the storage's
 * usage document (latest time wins, so several servers on one storage add up) by
 * {@link flush}, which the cache calls every minute and on close: a write per pull would
 * cost more than the pull. The merge is a read then a write: two instances flushing at
 * the same instant may lose one minute of one's uses (an image looks older to eviction
 * until it is pulled again), which does not justify a lock on every flush.
 */
export class CacheUsage {
  private pending: UsageTimes = new Map();

  constructor(readonly document: StoredDocument | undefined) {}

  /** `repository:tag` was pulled now. */
  touch(repository: string, tag: string): void {
    this.pending.set(usageKey(repository, tag), Date.now());
  }

  /**
   * `saved` (the document as read) with the uses not flushed yet, looked up when asked:
   * a tag touched after `saved` was read, and stored while eviction lists the tags, is
   * seen as just used, not as never used.
   */
  lookup(saved: UsageTimes): UsageLookup {
    return {
      get: (key) => {
        const a = saved.get(key);
        const b = this.pending.get(key);
        return a === undefined ? b : b === undefined ? a : Math.max(a, b);
      },
    };
  }

  /** Merge the uses since the last flush into the document (replaced whole). */
  async flush(): Promise<void> {
    if (!this.document || this.pending.size === 0) return;
    const mine = this.pending;
    this.pending = new Map();
    try {
      const merged = await readUsage(this.document);
      for (const [key, at] of mine) merged.set(key, Math.max(at, merged.get(key) ?? 0));
      await this.document.write(Object.fromEntries(merged));
    } catch (err) {
      for (const [key, at] of mine) this.pending.set(key, Math.max(at, this.pending.get(key) ?? 0));
      throw err;
    }
  }
}
