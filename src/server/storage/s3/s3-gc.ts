import { isDigest } from '../../../digest/index.js';
import type { Descriptor } from '../../../media/index.js';
import { collectRepository, gcRun } from '../gc-repository.js';
import type { CollectGarbageOptions, CollectGarbageResult } from '../registry-storage.js';
import { S3GcLease } from './s3-gc-lease.js';
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
  /** How long to wait after taking the lease before reading (see `S3GcLease`). */
  fenceMs: number;
  /** The lease's lifetime unless renewed. */
  leaseMs: number;
}

/**
 * The registry's collector over S3: per repository, drop the records nothing needs
 * (`collectRepository`, the rule the store backend follows too); then delete the blob
 * objects that no repository reaches any more and that are older than the grace period;
 * then expired upload sessions and multipart uploads left by a crashed instance.
 *
 * Against other instances on the bucket: a collection runs only under the bucket's
 * lease (`S3GcLease`: one object, created with `If-None-Match: *`), so a second collector
 * fails with `busy` instead of sweeping at the same time; the lease is renewed while the
 * run lasts and lapses by itself if the collector dies.
 *
 * Against pushes running meanwhile (on any instance): new content is safe by the grace
 * period (records and blobs written within it stay). Old content a push relies on again
 * (a mount, a blob or manifest pushed again, a manifest's blobs) is safe by the lease's
 * fence: writers commit only while no lease is live, and this collector waits `fenceMs`
 * after taking the lease before it reads anything, so every commit that began before the
 * lease has landed and is seen by the marking, and every later one waits for the end of
 * the collection. Why a lease and not a mark-and-sweep that spares what was linked after
 * the mark: S3 cannot make "spare it" and "delete it" one step (a conditional delete is
 * not honoured by Ceph's gateway, and an object pushed again has the same ETag), so a
 * link landing between the sweep's last check and its delete would dangle; with writers
 * held back for the sweep there is no such moment. The cost: one GET of the lease object
 * per commit, and commits wait while a collection runs.
 */
export async function collectS3Garbage(
  place: S3GcPlace,
  options: CollectGarbageOptions = {},
): Promise<CollectGarbageResult> {
  // A dry run removes nothing: it neither needs the lease nor holds writers back.
  if (options.dryRun) return collect(place, options);
  const lease = await S3GcLease.acquire(place.objects, place.leaseMs, options.signal);
  const run = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, run.signal]) : run.signal;
  const renewal = setInterval(() => {
    lease.renew(signal).then(
      (kept) => {
        if (!kept) run.abort(new Error('the garbage collection lost its lease on the storage'));
      },
      (err: unknown) => run.abort(err),
    );
  }, place.leaseMs / 3);
  renewal.unref();
  try {
    await new Promise((resolve) => setTimeout(resolve, place.fenceMs));
    return await collect(place, { ...options, signal });
  } finally {
    clearInterval(renewal);
    await lease.release().catch(() => {});
  }
}

/** One collection over the bucket (under the lease unless a dry run). */
async function collect(
  place: S3GcPlace,
  options: CollectGarbageOptions,
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
