/** One object the memory tier holds. */
export interface MemoryEntry {
  bytes: Buffer;
  /** The media type to answer with (manifests). */
  mediaType?: string;
}

/** Options of {@link MemoryTier}. */
export interface MemoryTierOptions {
  /** Bytes held at most, all entries together (default 64 MiB; 0 turns the tier off). */
  maxBytes?: number;
  /** Objects larger than this are never held (default 1 MiB). */
  maxObjectBytes?: number;
}

/**
 * The bounded in-memory tier in front of the persistent one: small objects (manifests,
 * configs, small blobs) by key, least recently used dropped first once the byte budget is
 * spent. A `Map` keeps insertion order, which is all an LRU needs: a hit moves the entry
 * to the end, eviction takes from the front (as `VerifiedBlobs` does), so no library.
 */
export class MemoryTier {
  readonly maxBytes: number;
  readonly maxObjectBytes: number;
  private readonly entries = new Map<string, MemoryEntry>();
  private held = 0;
  /** Entries dropped to make room since the start. */
  evictions = 0;

  constructor(options: MemoryTierOptions = {}) {
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.maxObjectBytes = Math.min(options.maxObjectBytes ?? 1024 * 1024, this.maxBytes);
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.held;
  }

  /** Entries held now. */
  get count(): number {
    return this.entries.size;
  }

  /** True when an object of `size` bytes would be held. */
  fits(size: number): boolean {
    return size <= this.maxObjectBytes && this.maxBytes > 0;
  }

  /** The entry for `key`, now the most recently used, or undefined. */
  get(key: string): MemoryEntry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** Hold `entry` under `key` when it fits, dropping the least recently used as needed. */
  set(key: string, entry: MemoryEntry): void {
    if (!this.fits(entry.bytes.length)) return;
    this.delete(key);
    this.entries.set(key, entry);
    this.held += entry.bytes.length;
    while (this.held > this.maxBytes) {
      const oldest = this.entries.keys().next().value as string;
      this.delete(oldest);
      this.evictions++;
    }
  }

  /** Drop `key`; true when it was held. */
  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.held -= entry.bytes.length;
    return true;
  }
}
