import { PoolSha256, RingPoolSha256 } from '../native/pool-sha256.js';

/**
 * Blobs at least this large are hashed on the thread pool (src/native/pool-sha256.ts) when
 * piped to a sink. Why this size: the first use loads koffi (~7-9 ms of the main thread)
 * and each call costs ~45 us of it, while sha256 on the main thread costs ~0.6 ms a MB;
 * with ~4 calls a MB the pool saves ~0.4 ms a MB, so a process has paid the load back
 * after ~20 MB. Below it, manifests, configs and small layers (and the small commands,
 * whose bundles never load koffi) hash on the main thread as before.
 */
export const POOL_HASH_MIN_BYTES = 16 << 20;

/** Set once the pool hasher could not be had (no koffi, no symbols): not tried again. */
let unavailable = false;

/**
 * A {@link PoolSha256} for a blob of `size` bytes hashed with `algorithm`, or undefined
 * when the blob is small, not sha256, or the pool hasher is not available here.
 */
export function poolHasherFor(
  algorithm: string,
  size: number | undefined,
): PoolSha256 | RingPoolSha256 | undefined {
  if (unavailable || algorithm !== 'sha256' || size === undefined || size < POOL_HASH_MIN_BYTES) {
    return undefined;
  }
  if (process.env.OCIPEEK_H15H_HASH === 'main') return undefined;
  try {
    const ring = process.env.OCIPEEK_H15H_RING;
    if (ring) {
      const [mib, count] = ring.split('x').map(Number);
      return new RingPoolSha256((mib as number) << 20, count as number);
    }
    return new PoolSha256();
  } catch {
    unavailable = true;
    return undefined;
  }
}
