import { randomUUID } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { RegistryStorageError } from '../storage-error.js';
import { isMissing, type S3Objects } from './s3-objects.js';

/** The lease object, below the storage's prefix. */
export const LEASE_KEY = '_gc/lease';

/** What the lease object holds. */
interface LeaseRecord {
  owner: string;
  /** When the collection started (ms since the epoch). */
  startedMs: number;
  /** When the lease lapses unless renewed: a crashed collector blocks nobody for long. */
  expiresMs: number;
}

/** A lease read from the bucket, with the version (ETag) a takeover must match. */
interface ReadLease {
  record: LeaseRecord;
  etag: string | undefined;
}

/** True for the SDK's answer to a failed `If-None-Match`/`If-Match` condition. */
function isPreconditionFailed(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return (
    e?.name === 'PreconditionFailed' ||
    e?.$metadata?.httpStatusCode === 412 ||
    e?.$metadata?.httpStatusCode === 409
  );
}

/**
 * The garbage collector's lease on a bucket: one object, `_gc/lease`, created with
 * `If-None-Match: *` (only one creator wins) and renewed or taken over with `If-Match`
 * on its ETag, so two instances on one bucket never collect at once.
 *
 * It also fences writers. S3 has no transaction joining "this blob is still there" with
 * "link it", so a push that relies on an object already in the bucket (a mount, a blob
 * or manifest pushed again, a manifest's blobs) does so only while no lease is live
 * ({@link waitForCollection}), and a collector that took the lease waits `fenceMs` before
 * it reads anything: a writer that saw no lease finishes its links within that time, and
 * the collector's marking then sees them; a writer that comes later waits until the
 * collection is over. A writer whose commit took longer than the fence checks its object
 * again afterwards ({@link S3GcFence.committedInTime}).
 */
export class S3GcLease {
  private constructor(
    private readonly objects: S3Objects,
    private etag: string | undefined,
    private readonly record: LeaseRecord,
    private readonly ttlMs: number,
  ) {}

  /**
   * Take the lease for `ttlMs` (renewed while held: {@link renew}), or fail with a
   * `busy` {@link RegistryStorageError} naming when the holder's lease lapses.
   */
  static async acquire(
    objects: S3Objects,
    ttlMs: number,
    signal?: AbortSignal,
  ): Promise<S3GcLease> {
    const now = Date.now();
    const record: LeaseRecord = { owner: randomUUID(), startedMs: now, expiresMs: now + ttlMs };
    for (let attempt = 0; attempt < 3; attempt++) {
      const held = await readLease(objects, signal);
      if (held && held.record.expiresMs > Date.now()) {
        throw new RegistryStorageError(
          'busy',
          `another garbage collection holds the lease on this storage until ${new Date(held.record.expiresMs).toISOString()}`,
        );
      }
      // Absent: create only if still absent. Lapsed: take over only that very version.
      const etag = await putLease(
        objects,
        record,
        held ? { IfMatch: held.etag } : { IfNoneMatch: '*' },
        signal,
      );
      if (etag !== null) return new S3GcLease(objects, etag, record, ttlMs);
    }
    throw new RegistryStorageError('busy', 'another garbage collection took the lease first');
  }

  /** Extend the lease; false when it was lost (taken over after it lapsed). */
  async renew(signal?: AbortSignal): Promise<boolean> {
    const record = { ...this.record, expiresMs: Date.now() + this.ttlMs };
    const etag = await putLease(this.objects, record, { IfMatch: this.etag }, signal);
    if (etag === null) return false;
    this.etag = etag;
    this.record.expiresMs = record.expiresMs;
    return true;
  }

  /** Give the lease back (only if it is still ours). */
  async release(): Promise<void> {
    const held = await readLease(this.objects);
    if (held?.record.owner === this.record.owner) await this.objects.delete(LEASE_KEY);
  }
}

/** The lease as stored, or `undefined`. */
async function readLease(objects: S3Objects, signal?: AbortSignal): Promise<ReadLease | undefined> {
  try {
    const out = await objects.client.send(
      new GetObjectCommand({ Bucket: objects.bucket, Key: objects.full(LEASE_KEY) }),
      { abortSignal: signal },
    );
    const text = (await out.Body?.transformToString()) ?? '';
    let record: LeaseRecord;
    try {
      record = JSON.parse(text) as LeaseRecord;
    } catch {
      record = { owner: '', startedMs: 0, expiresMs: 0 }; // unreadable: treat as lapsed
    }
    return { record, etag: out.ETag };
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Write the lease under a condition; its new ETag, or `null` when the condition failed. */
async function putLease(
  objects: S3Objects,
  record: LeaseRecord,
  condition: { IfNoneMatch?: string; IfMatch?: string },
  signal?: AbortSignal,
): Promise<string | null | undefined> {
  const body = JSON.stringify(record);
  // The ETag bare: Ceph's gateway compares `If-Match` without the quotes (a quoted one
  // never matches there), and S3 takes either.
  const bare = condition.IfMatch?.replaceAll('"', '');
  try {
    const out = await objects.client.send(
      new PutObjectCommand({
        Bucket: objects.bucket,
        Key: objects.full(LEASE_KEY),
        Body: body,
        ContentLength: Buffer.byteLength(body),
        ContentType: 'application/json',
        ...(condition.IfNoneMatch ? { IfNoneMatch: condition.IfNoneMatch } : {}),
        ...(bare === undefined ? {} : { IfMatch: bare }),
      }),
      { abortSignal: signal },
    );
    return out.ETag;
  } catch (err) {
    if (isPreconditionFailed(err)) return null;
    throw err;
  }
}

/** How often a writer looks whether the collection it waits for is over. */
const POLL_MS = 250;

/**
 * The writers' side of the lease (see {@link S3GcLease}): wait while a collection holds
 * it, and tell whether a commit stayed within the fence.
 */
export class S3GcFence {
  constructor(
    private readonly objects: S3Objects,
    /** How long a collector waits after taking the lease before it reads anything. */
    readonly fenceMs: number,
  ) {}

  /**
   * Resolve once no live lease is held (at once, with one GET, in the common case), with
   * the time of that check: the commit that follows must end within the fence of it.
   */
  async waitForCollection(signal?: AbortSignal): Promise<number> {
    for (;;) {
      const checked = Date.now();
      const held = await readLease(this.objects, signal);
      if (!held || held.record.expiresMs <= checked) return checked;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      signal?.throwIfAborted();
    }
  }

  /**
   * After a commit that began with {@link waitForCollection} at `checked`: true when it
   * ended within the fence (a collection that started meanwhile has not read yet);
   * false when the writer must make sure its objects are still there.
   */
  committedInTime(checked: number): boolean {
    return Date.now() - checked < this.fenceMs / 2;
  }
}
