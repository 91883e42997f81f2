/** One cached `Authorization` header value. */
export interface CachedAuth {
  /** The header value, `Bearer …` or `Basic …`. */
  value: string;
  /** When it stops being usable, in `now()` milliseconds; undefined for never. */
  expiresAt?: number;
}

/**
 * `Authorization` values keyed by registry and scope, dropped when they expire. Time comes
 * from an injected clock so expiry is testable without waiting.
 */
export class TokenCache {
  readonly #entries = new Map<string, CachedAuth>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The cache key for a registry and scope. */
  static key(registry: string, scope: string): string {
    return `${registry}\n${scope}`;
  }

  /** The value for `key` while it has not expired. */
  get(key: string): string | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && this.#now() >= entry.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Remember `value` for `key` until `expiresAt` (ms, from the same clock), or forever. */
  set(key: string, value: string, expiresAt?: number): void {
    this.#entries.set(key, { value, expiresAt });
  }

  /** Forget `key`. */
  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** The number of entries, expired ones included until next read. */
  get size(): number {
    return this.#entries.size;
  }
}
