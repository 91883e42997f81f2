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

  /** How many files are remembered. */
  get size(): number {
    return this.entries.size;
  }
}

function keyOf(f: BlobFileIdentity): string {
  return `${f.dev}:${f.ino}:${f.size}:${f.mtimeNs}:${f.ctimeNs}`;
}
