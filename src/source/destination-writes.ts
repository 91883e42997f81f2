import type { ImageDestination, ManifestBytes } from './types.js';

/**
 * Run `write` into `destination` and, when it fails, abort the destination and rethrow:
 * the contract of {@link ImageDestination} (commit, or abort and leave the place as it
 * was). The abort's own failure is dropped: the write's error is what went wrong.
 */
export async function writeOrAbort<T>(
  destination: ImageDestination,
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (err) {
    await destination.abort().catch(() => {});
    throw err;
  }
}

/**
 * Put `root` as the destination's root manifest (after every child) and commit it.
 * Resolves to the root's digest as the destination holds it (it differs when the
 * destination converts manifests).
 */
export async function commitRoot(
  destination: ImageDestination,
  root: ManifestBytes,
  signal: AbortSignal | undefined,
): Promise<string> {
  await destination.putManifest(root, { root: true, signal });
  return destination.commit(root, { signal });
}
