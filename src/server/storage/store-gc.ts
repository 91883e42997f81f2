import type { Descriptor } from '../../media/index.js';
import { contentGraph } from '../../store/content-graph.js';
import type { Store } from '../../store/index.js';
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

const HOUR = 3600_000;

/**
 * The registry's collector over the store: drop the records nothing needs any more, then
 * let the store's `prune` remove the blobs nothing reaches.
 *
 * Per repository, kept are: what its tags reach; manifests whose subject is kept
 * (referrers, repeatedly, so a signature of a signature stays); and every record written
 * within the grace period, with what it reaches (a push sends blobs and child manifests
 * before the index or tag that names them). Other manifest records and blob links go.
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
  const graceMs = options.graceMs ?? HOUR;
  const result: CollectGarbageResult = {
    manifestsUnlinked: 0,
    blobsUnlinked: 0,
    blobsRemoved: 0,
    uploadsRemoved: 0,
    bytesFreed: 0,
  };
  const expired = await storage.uploads.expire(options.uploadExpiryMs ?? 24 * HOUR, dryRun);
  result.uploadsRemoved = expired.removed;
  result.bytesFreed += expired.bytes;
  const now = Date.now();
  const young = (mtimeMs: number) => now - mtimeMs < graceMs;
  const layout = storage.store.layout;
  for (const name of await storage.records.repositories(signal)) {
    signal?.throwIfAborted();
    const reach = await storage.reach.of(name, signal);
    const manifests = await storage.records.manifests(name);
    const links = await storage.records.blobLinks(name);
    const reached = new Set(reach.blobs.keys());
    const visit = async (root: Descriptor) => {
      const graph = await contentGraph(layout, root, { signal });
      for (const digest of graph.nodes.keys()) reached.add(digest);
    };
    const kept = new Set<string>();
    for (const [digest, entry] of manifests) {
      if (reached.has(digest) || young(entry.mtimeMs)) {
        kept.add(digest);
        await visit(entry.value.descriptor);
      }
    }
    // Referrers of kept content are kept, until nothing more joins.
    for (let grew = true; grew; ) {
      grew = false;
      for (const [digest, entry] of manifests) {
        const subject = entry.value.subject;
        if (kept.has(digest) || !subject || !reached.has(subject)) continue;
        kept.add(digest);
        await visit(entry.value.descriptor);
        grew = true;
      }
    }
    for (const digest of manifests.keys()) {
      if (kept.has(digest)) continue;
      const again = await storage.records.manifest(name, digest);
      if (!again || young(again.mtimeMs)) continue;
      if (!dryRun) await storage.records.deleteManifest(name, digest);
      result.manifestsUnlinked++;
    }
    for (const [digest, entry] of links) {
      if (reached.has(digest) || young(entry.mtimeMs)) continue;
      const again = await storage.records.blobLink(name, digest);
      if (!again || young(again.mtimeMs)) continue;
      if (!dryRun) await storage.records.unlinkBlob(name, digest);
      result.blobsUnlinked++;
    }
  }
  const pruned = await storage.store.prune({ signal, dryRun });
  result.blobsRemoved = pruned.blobsRemoved;
  result.bytesFreed += pruned.bytesFreed;
  return result;
}
