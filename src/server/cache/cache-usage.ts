import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** `repository:tag` → when a client last pulled it (ms since the epoch). */
export type UsageTimes = Map<string, number>;

/** The key of `tag` of `repository` in {@link UsageTimes}. */
export function usageKey(repository: string, tag: string): string {
  return `${repository}:${tag}`;
}

/** Read a usage file; a missing or unreadable one is no usage known. */
export async function readUsage(file: string): Promise<UsageTimes> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    const times: UsageTimes = new Map();
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value === 'number' && Number.isFinite(value)) times.set(key, value);
    }
    return times;
  } catch {
    return new Map();
  }
}

/**
 * When each cached tag was last pulled: what `ocipeek cache ls` shows and what least
 * recently used eviction orders by. Uses are kept in memory and merged into a JSON file
 * (latest time wins, so several servers on one store add up) by {@link flush}, which the
 * cache calls every minute and on close: a write per pull would cost more than the pull.
 */
export class CacheUsage {
  private pending: UsageTimes = new Map();

  constructor(readonly file: string | undefined) {}

  /** `repository:tag` was pulled now. */
  touch(repository: string, tag: string): void {
    this.pending.set(usageKey(repository, tag), Date.now());
  }

  /** Merge the uses since the last flush into the file (atomically replaced). */
  async flush(): Promise<void> {
    if (!this.file || this.pending.size === 0) return;
    const mine = this.pending;
    this.pending = new Map();
    const merged = await readUsage(this.file);
    for (const [key, at] of mine) merged.set(key, Math.max(at, merged.get(key) ?? 0));
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(Object.fromEntries(merged)));
      await rename(tmp, this.file);
    } catch (err) {
      await rm(tmp, { force: true });
      for (const [key, at] of mine) this.pending.set(key, Math.max(at, this.pending.get(key) ?? 0));
      throw err;
    }
  }
}
