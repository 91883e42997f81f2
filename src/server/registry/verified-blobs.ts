import type { BlobFileIdentity } from '../../layout/blob-file.js';

/** Default number of verified blob files remembered. */
export const DEFAULT_VERIFIED_BLOBS = 8192;

/**
 * Which blob files have been hashed and found to match their digest, so each is hashed
 * once, not on every request. A file is trusted again only while device, inode, size,
 * mtime and ctime are all unchanged (ctime moves on every write and a user cannot set it
 * back, unlike the mtime). Bounded: past `max` entries the least recently used is
 * forgotten, and is then hashed again on its next ranged read.
 */
export class VerifiedBlobs {
  private readonly entries = new Map<string, string>();
  /** Checks running now, by digest and file state. */
  private readonly checking = new Map<string, Promise<void>>();

  constructor(private readonly max = DEFAULT_VERIFIED_BLOBS) {}

  /** True when this file, in this state, was verified to hold `digest`. */
  has(digest: string, file: BlobFileIdentity): boolean {
    const key = keyOf(file);
    const known = this.entries.get(key);
    if (known !== digest) return false;
    this.entries.delete(key);
    this.entries.set(key, known); // most recently used last
    return true;
  }

  /** Remember that this file, in this state, hashes to `digest`. */
  add(digest: string, file: BlobFileIdentity): void {
    const key = keyOf(file);
    this.entries.delete(key);
    this.entries.set(key, digest);
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /**
   * Check a file that {@link has} does not know: settles once `check` (which rejects on a
   * mismatch) did, run once however many readers ask while it runs: after a restart, 64
   * clients pulling one layer start one hash, not 64. Success is remembered; a failure is
   * not (the next reader checks again).
   */
  verify(digest: string, file: BlobFileIdentity, check: () => Promise<void>): Promise<void> {
    const key = `${digest} ${keyOf(file)}`;
    let running = this.checking.get(key);
    if (!running) {
      running = (async () => {
        try {
          await check();
          this.add(digest, file);
        } finally {
          this.checking.delete(key);
        }
      })();
      this.checking.set(key, running);
    }
    return running;
  }

  /** How many files are remembered. */
  get size(): number {
    return this.entries.size;
  }
}

function keyOf(f: BlobFileIdentity): string {
  return `${f.dev}:${f.ino}:${f.size}:${f.mtimeNs}:${f.ctimeNs}`;
}
