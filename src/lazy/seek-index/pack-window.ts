import { deflateRawSync } from 'node:zlib';

/**
 * A checkpoint's window as the records hold it: raw deflate. Level 1: windows are a few
 * per layer read but many per build, where level 6 cost a tenth of the CPU for 3% smaller
 * records. Where the span before it did not compress (`incompressible`: its deflate data
 * is at least 90% of its output, as a layer of random or already compressed bytes),
 * deflating the window would cost the most CPU of all (zlib looks for matches in vain,
 * ~30 MB/s) to save nothing, so it is one stored block (RFC 1951 3.2.4), which every
 * inflate reads the same. Used on the main thread (small layers) and on the piece hashing
 * thread (piece-hash-worker.ts): the same bytes either way.
 */
export function packWindow(window: Uint8Array, incompressible: boolean): Buffer {
  if (window.length === 0) return Buffer.alloc(0);
  if (!incompressible) return deflateRawSync(window, { level: 1 });
  const n = window.length; // at most 32 KiB, one stored block holds up to 64 KiB - 1
  const stored = Buffer.allocUnsafe(5 + n);
  stored[0] = 1; // BFINAL, BTYPE 00 (stored), padded to the byte
  stored.writeUInt16LE(n, 1);
  stored.writeUInt16LE(~n & 0xffff, 3);
  stored.set(window, 5);
  return stored;
}
