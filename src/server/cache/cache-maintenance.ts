import type { RegistryStorage } from '../storage/registry-storage.js';
import { evictCached } from './cache-inventory.js';
import { type CacheUsage, readUsage } from './cache-usage.js';

/** Options of {@link startCacheMaintenance}. */
export interface CacheMaintenanceOptions {
  storage: RegistryStorage;
  usage: CacheUsage;
  /** Keep the persistent tier at most this big (distinct bytes the tags reach). */
  maxBytes?: number;
  /** How often (default every minute). */
  intervalMs?: number;
  log?: (line: string) => void;
}

/**
 * The cache's background work, one run at a time: merge the tag uses into the usage document,
 * then, with `maxBytes`, evict the least recently used images past it. `stop` runs a last
 * flush and waits for it.
 */
export function startCacheMaintenance(options: CacheMaintenanceOptions): {
  /** One run now, after the one under way; resolves when it is done. */
  runNow(): Promise<void>;
  stop(): Promise<void>;
} {
  const { storage, usage, maxBytes, log } = options;
  let running: Promise<void> = Promise.resolve();
  const once = async () => {
    try {
      await usage.flush();
      if (maxBytes === undefined) return;
      // Uses recorded while the tags are listed count too (see CacheUsage.lookup).
      const times = usage.lookup(await readUsage(usage.document));
      // Content younger than ten minutes stays: it may be an image being pulled right now.
      const result = await evictCached(storage, times, { maxBytes, graceMs: 600_000 });
      if (result.evicted.length > 0) {
        log?.(
          `cache: evicted ${result.evicted.length} image(s), ${result.collected.blobsRemoved} blob(s), ${result.collected.bytesFreed} bytes freed`,
        );
      }
    } catch (err) {
      log?.(`cache maintenance failed: ${(err as Error).message}`);
    }
  };
  const timer = setInterval(() => {
    running = running.then(once);
  }, options.intervalMs ?? 60_000);
  timer.unref();
  return {
    runNow: () => {
      running = running.then(once);
      return running;
    },
    stop: async () => {
      clearInterval(timer);
      await running;
      await usage.flush().catch((err: Error) => log?.(`cache usage not saved: ${err.message}`));
    },
  };
}
