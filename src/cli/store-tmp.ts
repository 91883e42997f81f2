import { Store } from '../store/index.js';
import type { CliContext } from './context.js';

/**
 * The store's temp folder. Archives being read or written are staged there rather than
 * in the system temp folder: it is on the store's disk, and `prune` removes what a killed
 * run left (the staging names carry the pid).
 */
export async function storeTmpDir(ctx: CliContext): Promise<string> {
  return (await Store.open(ctx.options.store, { signal: ctx.signal })).tmpDir;
}

/** True for places written as archive files (`oci-archive:`, `docker-archive:`). */
export function isArchivePlace(place: string): boolean {
  return /^(oci-archive|docker-archive):/.test(place);
}
