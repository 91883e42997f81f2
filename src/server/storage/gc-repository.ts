import type { Descriptor } from '../../media/index.js';
import type { CollectGarbageOptions, CollectGarbageResult } from './registry-storage.js';
import type { ManifestRecord, RecordEntry } from './store-records.js';

const HOUR = 3600_000;

/**
 * A collection run's defaults, the same for every backend: grace period one hour,
 * sessions expire after a day; `young` tells what the grace period keeps.
 */
export function gcRun(options: CollectGarbageOptions) {
  const graceMs = options.graceMs ?? HOUR;
  const now = Date.now();
  const result: CollectGarbageResult = {
    manifestsUnlinked: 0,
    blobsUnlinked: 0,
    blobsRemoved: 0,
    uploadsRemoved: 0,
    bytesFreed: 0,
  };
  return {
    now,
    result,
    uploadExpiryMs: options.uploadExpiryMs ?? 24 * HOUR,
    young: (mtimeMs: number) => now - mtimeMs < graceMs,
  };
}

/** One repository's records as the collector sees them, whichever backend keeps them. */
export interface RepositoryRecords {
  /** Manifest records by digest, with when each was written. */
  manifests: Map<string, RecordEntry<ManifestRecord>>;
  /** Blob links: digest → when written. */
  links: Map<string, number>;
  /** When manifest record `digest` was written, read again now (`undefined`: gone). */
  manifestTime(digest: string): Promise<number | undefined>;
  /** When blob link `digest` was written, read again now (`undefined`: gone). */
  linkTime(digest: string): Promise<number | undefined>;
  deleteManifest(digest: string): Promise<unknown>;
  unlinkBlob(digest: string): Promise<unknown>;
  /** Every digest reachable from `root`, itself included. */
  reachable(root: Descriptor): Promise<Iterable<string>>;
}

/**
 * The collector's rule for one repository, the same over the store and over S3. Kept
 * are: what its tags reach (`tagged`); manifests whose subject is kept (referrers,
 * repeatedly, so a signature of a signature stays); and every record written within the
 * grace period (`young`), with what it reaches (a push sends blobs and child manifests
 * before the index or tag that names them). Other manifest records and blob links go,
 * each checked again just before, so a record a push refreshed meanwhile stays.
 *
 * Counts into `result`; returns every digest the repository still reaches.
 */
export async function collectRepository(
  records: RepositoryRecords,
  tagged: Iterable<string>,
  young: (mtimeMs: number) => boolean,
  dryRun: boolean | undefined,
  result: CollectGarbageResult,
): Promise<Set<string>> {
  const { manifests, links } = records;
  const reached = new Set(tagged);
  const visit = async (root: Descriptor) => {
    for (const digest of await records.reachable(root)) reached.add(digest);
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
    const again = await records.manifestTime(digest);
    if (again === undefined || young(again)) continue;
    if (!dryRun) await records.deleteManifest(digest);
    result.manifestsUnlinked++;
  }
  for (const [digest, mtimeMs] of links) {
    if (reached.has(digest) || young(mtimeMs)) continue;
    const again = await records.linkTime(digest);
    if (again === undefined || young(again)) {
      reached.add(digest);
      continue;
    }
    if (!dryRun) await records.unlinkBlob(digest);
    result.blobsUnlinked++;
  }
  for (const [digest, mtimeMs] of links) if (young(mtimeMs)) reached.add(digest);
  return reached;
}
