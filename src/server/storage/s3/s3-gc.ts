import { isDigest } from '../../../digest/index.js';
import type { Descriptor } from '../../../media/index.js';
import { collectRepository, gcRun } from '../gc-repository.js';
import type { CollectGarbageOptions, CollectGarbageResult } from '../registry-storage.js';
import type { S3Objects } from './s3-objects.js';
import { abortMultipart, staleMultiparts } from './s3-parts.js';
import type { S3Records } from './s3-records.js';
import type { S3Uploads } from './s3-uploads.js';

/** The parts of an `S3Storage` the collector works on. */
export interface S3GcPlace {
  objects: S3Objects;
  records: S3Records;
  uploads: S3Uploads;
  /** Every digest the tags of `name` reach. */
  tagged(name: string, signal?: AbortSignal): Promise<Iterable<string>>;
  /** Every digest reachable from `root`, itself included. */
  reachable(root: Descriptor, signal?: AbortSignal): Promise<Iterable<string>>;
}

/**
 * The registry's collector over S3: per repository, drop the records nothing needs
 * (`collectRepository`, the rule the store backend follows too); then delete the blob
 * objects that no repository reaches any more and that are older than the grace period;
 * then expired upload sessions and multipart uploads left by a crashed instance.
 *
 * Against pushes running meanwhile (on any instance): records and blobs written within
 * the grace period stay, and what a push links or names it checks right before (so a
 * blob the sweep removed is reported missing, never linked silently). What is left is a
 * push that re-links an old, unreferenced blob in the moment between the sweep's listing
 * and its delete; S3 has no lock to close that, so run `--gc-interval` with a grace
 * period longer than any push takes.
 */
export async function collectS3Garbage(
  place: S3GcPlace,
  options: CollectGarbageOptions = {},
): Promise<CollectGarbageResult> {
  const { signal, dryRun } = options;
  const { now, result, young, uploadExpiryMs } = gcRun(options);
  const { objects, records } = place;
  const reached = new Set<string>();
  for (const name of await records.repositories(signal)) {
    signal?.throwIfAborted();
    const kept = await collectRepository(
      {
        manifests: await records.manifests(name, signal),
        links: await records.blobLinks(name, signal),
        manifestTime: async (digest) => (await records.manifest(name, digest, signal))?.mtimeMs,
        linkTime: (digest) => records.blobLinkTime(name, digest, signal),
        deleteManifest: (digest) => records.deleteManifest(name, digest, signal),
        unlinkBlob: (digest) => records.unlinkBlob(name, digest, signal),
        reachable: (root) => place.reachable(root, signal),
      },
      await place.tagged(name, signal),
      young,
      dryRun,
      result,
    );
    for (const digest of kept) reached.add(digest);
  }
  for await (const blob of objects.list('blobs/', signal)) {
    const [, algorithm, hex] = blob.key.split('/');
    const digest = `${algorithm}:${hex}`;
    if (!isDigest(digest) || reached.has(digest) || young(blob.mtimeMs)) continue;
    if (!dryRun) await objects.delete(blob.key, signal);
    result.blobsRemoved++;
    result.bytesFreed += blob.size;
  }
  const expired = await place.uploads.expire(uploadExpiryMs, dryRun, signal);
  result.uploadsRemoved = expired.removed;
  result.bytesFreed += expired.bytes;
  // Monolithic pushes write straight to their blob's key; a crash leaves the parts.
  for (const stale of await staleMultiparts(objects, 'blobs/', now - uploadExpiryMs, signal)) {
    if (!dryRun) await abortMultipart(objects, stale.key, stale.uploadId);
  }
  return result;
}
