import { contentGraph } from '../../store/content-graph.js';
import type { Store } from '../../store/index.js';
import { collectRepository, gcRun } from './gc-repository.js';
import type { CollectGarbageOptions, CollectGarbageResult } from './registry-storage.js';
import type { StoreRecords } from './store-records.js';
import type { StoreUploads } from './store-uploads.js';
import type { TagReach } from './tag-reach.js';

/** The parts of a `StoreStorage` the collector works on. */
export interface StoreGcPlace {
  store: Store;
  records: StoreRecords;
  uploads: StoreUploads;
  reach: TagReach;
}

/**
 * The registry's collector over the store: drop the records nothing needs any more, then
 * let the store's `prune` remove the blobs nothing reaches.
 *
 * Per repository, `collectRepository` decides what is kept (what tags reach, referrers
 * of kept content, records within the grace period); other records go.
 *
 * Why this is safe against pushes running meanwhile: a record is removed only when it is
 * older than the grace period and is checked again just before; a push pins what it
 * checks before checking it and records it before unpinning; and `prune` (under the
 * index lock, honouring pins and every remaining record) is what deletes blobs.
 */
export async function collectStoreGarbage(
  storage: StoreGcPlace,
  options: CollectGarbageOptions = {},
): Promise<CollectGarbageResult> {
  const { signal, dryRun } = options;
  const { result, young, uploadExpiryMs } = gcRun(options);
  const expired = await storage.uploads.expire(uploadExpiryMs, dryRun);
  result.uploadsRemoved = expired.removed;
  result.bytesFreed += expired.bytes;
  const layout = storage.store.layout;
  const { records } = storage;
  for (const name of await records.repositories(signal)) {
    signal?.throwIfAborted();
    const reach = await storage.reach.of(name, signal);
    const links = new Map<string, number>();
    for (const [digest, entry] of await records.blobLinks(name)) links.set(digest, entry.mtimeMs);
    await collectRepository(
      {
        manifests: await records.manifests(name),
        links,
        manifestTime: async (digest) => (await records.manifest(name, digest))?.mtimeMs,
        linkTime: async (digest) => (await records.blobLink(name, digest))?.mtimeMs,
        deleteManifest: (digest) => records.deleteManifest(name, digest),
        unlinkBlob: (digest) => records.unlinkBlob(name, digest),
        reachable: async (root) => (await contentGraph(layout, root, { signal })).nodes.keys(),
      },
      reach.blobs.keys(),
      young,
      dryRun,
      result,
    );
  }
  const pruned = await storage.store.prune({ signal, dryRun });
  result.blobsRemoved = pruned.blobsRemoved;
  result.bytesFreed += pruned.bytesFreed;
  return result;
}
