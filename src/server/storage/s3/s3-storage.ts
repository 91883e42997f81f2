import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createDigester, digestOf, isDigest, parseDigest } from '../../../digest/index.js';
import { DigestMismatchError, NotFoundError } from '../../../errors/index.js';
import {
  type Descriptor,
  MAX_MANIFEST_BYTES,
  manifestMediaType,
  parseManifest,
} from '../../../media/index.js';
import { type BlobReader, contentGraph } from '../../../store/content-graph.js';
import { feedSink } from '../../../transport/body-sink.js';
import type {
  BackendBlob,
  BackendCallOptions,
  CollectGarbageOptions,
  CollectGarbageResult,
  ManifestWrite,
  RegistryStorage,
  StoragePutBlobOptions,
  StoredBlob,
  StoredDocument,
  StoredManifest,
  UploadChunkOptions,
} from '../registry-storage.js';
import { SessionUploads } from '../session-uploads.js';
import {
  blobReferenced,
  blobTooLarge,
  digestInvalid,
  manifestBlobsUnknown,
  manifestReferenced,
  RegistryStorageError,
} from '../storage-error.js';
import { blobKey, S3Blob } from './s3-blob.js';
import { s3ClientFromEnvironment } from './s3-client.js';
import { collectS3Garbage } from './s3-gc.js';
import { S3GcFence } from './s3-gc-lease.js';
import { parseS3Url } from './s3-location.js';
import { S3Objects } from './s3-objects.js';
import { copyObject, keepingSink, MultipartObject, PART_BYTES } from './s3-parts.js';
import { S3Records } from './s3-records.js';
import { S3Uploads } from './s3-uploads.js';

/** Options of {@link S3Storage}. */
export interface S3StorageOptions {
  /** Blobs larger than this are refused (`too-large`). Default: no limit. */
  maxBlobBytes?: number;
  /** The client to use (default: one configured from the AWS environment and files). */
  client?: S3Client;
  /**
   * Answer blob GETs with a redirect to a presigned URL of the object, valid this many
   * seconds (`--s3-redirect`: 900), so the bytes go from S3 to the client directly.
   */
  redirectSeconds?: number;
  /**
   * How long a garbage collector waits after taking the bucket's lease before it reads
   * anything: longer than a writer's commit takes (a few S3 requests; a slower one checks its objects again after). Default 5 s.
   */
  gcFenceMs?: number;
  /** How long the collector's lease lasts unless renewed (a crashed collector). Default 10 min. */
  gcLeaseMs?: number;
}

const DEFAULT_GC_FENCE_MS = 5000;
const DEFAULT_GC_LEASE_MS = 10 * 60_000;

/**
 * {@link RegistryStorage} on an S3 bucket (any S3 that checks SigV4: AWS, Ceph RADOS
 * Gateway, MinIO), below a prefix; several registry instances may share it.
 *
 * - Blobs (manifests included) are `blobs/ALG/HEX`, written only once verified: a
 *   monolithic push streams into a multipart upload of that very key and completes it
 *   only when the digest matched (aborts otherwise); a chunked upload's bytes live under
 *   `uploads/ID/` ({@link S3Uploads}) and are put (small) or copied on the S3 side
 *   (large) to the blob's key once verified. No partial blob is ever visible.
 * - What belongs to which repository, and the tags, are small objects
 *   ({@link S3Records}); a blob is read only in a repository that links it.
 */
export class S3Storage extends SessionUploads implements RegistryStorage {
  readonly objects: S3Objects;
  private readonly records: S3Records;
  protected readonly uploads: S3Uploads;
  /** Writers wait while a collection holds the bucket's lease (see `S3GcLease`). */
  private readonly fence: S3GcFence;
  /** contentGraph's view of the bucket's blobs (for what tags reach). */
  private readonly blobs: BlobReader;

  constructor(
    client: S3Client,
    bucket: string,
    prefix: string,
    private readonly options: S3StorageOptions = {},
  ) {
    super();
    this.objects = new S3Objects(client, bucket, prefix);
    this.records = new S3Records(this.objects);
    this.uploads = new S3Uploads(this.objects, options.maxBlobBytes);
    this.fence = new S3GcFence(this.objects, options.gcFenceMs ?? DEFAULT_GC_FENCE_MS);
    this.blobs = {
      hasBlob: async (digest) => (await this.objects.head(blobKey(digest)))?.size,
      readBlob: async (digest, o = {}) => {
        const got = await this.objects.get(blobKey(digest), o);
        if (!got) throw new NotFoundError(`blob ${digest}`);
        return got.bytes;
      },
    };
  }

  /** Serve `s3://BUCKET/PREFIX`, with a client from the AWS environment unless given. */
  static fromUrl(url: string, options: S3StorageOptions = {}): S3Storage {
    const { bucket, prefix } = parseS3Url(url);
    return new S3Storage(options.client ?? s3ClientFromEnvironment(), bucket, prefix, options);
  }

  async close(): Promise<void> {
    this.objects.client.destroy();
  }

  // ---- reading ----

  repositories(options: BackendCallOptions = {}): Promise<string[]> {
    return this.records.repositories(options.signal);
  }

  hasRepository(name: string, options: BackendCallOptions = {}): Promise<boolean> {
    return this.records.hasRepository(name, options.signal);
  }

  tags(name: string, options: BackendCallOptions = {}): Promise<string[]> {
    return this.records.tagNames(name, options.signal);
  }

  async getManifest(
    name: string,
    reference: string,
    options: BackendCallOptions = {},
  ): Promise<StoredManifest | undefined> {
    const { signal } = options;
    const descriptor = isDigest(reference)
      ? (await this.records.manifest(name, reference, signal))?.value.descriptor
      : await this.records.tag(name, reference, signal);
    if (!descriptor) return undefined;
    const got = await this.objects.get(blobKey(descriptor.digest), {
      signal,
      maxBytes: MAX_MANIFEST_BYTES,
    });
    if (!got) return undefined;
    const actual = digestOf(got.bytes, parseDigest(descriptor.digest).algorithm);
    if (actual !== descriptor.digest) {
      throw new DigestMismatchError(descriptor.digest, actual, `manifest ${descriptor.digest}`);
    }
    const mediaType = manifestMediaType(
      parseManifest(got.bytes, descriptor.mediaType),
      descriptor.mediaType,
    );
    return {
      descriptor: { mediaType, digest: descriptor.digest, size: got.bytes.length },
      bytes: got.bytes,
    };
  }

  /** True when blob `digest` belongs to repository `name` (a link or a manifest record). */
  private async holds(name: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    const [linked, manifest] = await Promise.all([
      this.records.hasBlobLink(name, digest, signal),
      this.records.manifest(name, digest, signal),
    ]);
    return linked || manifest !== undefined;
  }

  async openBlob(
    name: string,
    digest: string,
    options: BackendCallOptions = {},
  ): Promise<BackendBlob | undefined> {
    const [held, info] = await Promise.all([
      this.records.hasBlobLink(name, digest, options.signal),
      this.objects.head(blobKey(digest), options.signal),
    ]);
    if (!info) return undefined;
    if (!held && !(await this.records.manifest(name, digest, options.signal))) return undefined;
    const seconds = this.options.redirectSeconds;
    const presign =
      seconds === undefined
        ? undefined
        : (key: string) =>
            getSignedUrl(
              this.objects.client,
              new GetObjectCommand({ Bucket: this.objects.bucket, Key: this.objects.full(key) }),
              { expiresIn: seconds },
            );
    return new S3Blob(this.objects, digest, info, presign);
  }

  async statBlob(
    name: string,
    digest: string,
    options: BackendCallOptions = {},
  ): Promise<number | undefined> {
    if (!(await this.holds(name, digest, options.signal))) return undefined;
    return (await this.objects.head(blobKey(digest), options.signal))?.size;
  }

  referrers(name: string, digest: string, options: BackendCallOptions = {}): Promise<Descriptor[]> {
    return this.records.referrers(name, digest, options.signal);
  }

  // ---- blobs ----

  async putBlob(
    name: string,
    digest: string,
    source: Readable,
    options: StoragePutBlobOptions = {},
  ): Promise<StoredBlob> {
    const { size, checked } = await this.writeVerified(digest, source, options);
    const blob = { digest, size };
    await this.records.linkBlob(name, blob, options.signal);
    await this.committed(name, [blob], checked, options.signal);
    return blob;
  }

  /**
   * A commit that began with `fence.waitForCollection` at `checked` is done: when it took
   * longer than the fence, a collection may have started meanwhile, so wait for it and
   * make sure the blobs are still there and linked; they are refused as unknown (the
   * client pushes them again) otherwise.
   */
  private async committed(
    name: string,
    blobs: Array<{ digest: string; size: number }>,
    checked: number,
    signal?: AbortSignal,
  ): Promise<void> {
    if (this.fence.committedInTime(checked)) return;
    await this.fence.waitForCollection(signal);
    for (const blob of blobs) {
      const info = await this.objects.head(blobKey(blob.digest), signal);
      if (info?.size === blob.size && (await this.holds(name, blob.digest, signal))) continue;
      throw new RegistryStorageError(
        'blob-unknown',
        `blob ${blob.digest} was collected while it was being stored; push it again`,
      );
    }
  }

  /**
   * Stream `source` to blob `digest`: into a multipart upload of the blob's own key,
   * completed only once the bytes hashed to `digest` (a blob below one part is put whole
   * after the check). When the blob is there already, the bytes are only checked.
   */
  private async writeVerified(
    digest: string,
    source: Readable,
    options: StoragePutBlobOptions,
  ): Promise<{ size: number; checked: number }> {
    const { algorithm, hex } = parseDigest(digest);
    const { signal, size } = options;
    const key = blobKey(digest);
    const existing = await this.objects.head(key, signal);
    const target =
      existing && size !== undefined && existing.size === size
        ? undefined
        : new MultipartObject(this.objects, key);
    const hash = createDigester(algorithm);
    const cap = this.options.maxBlobBytes;
    let buffered: Buffer[] = [];
    let bufferedBytes = 0;
    let total = 0;
    try {
      await feedSink(
        source,
        keepingSink(async (piece) => {
          total += piece.length;
          if (cap !== undefined && total > cap) {
            throw blobTooLarge(cap);
          }
          if (size !== undefined && total > size) {
            throw new RegistryStorageError('range', `blob longer than its ${size} bytes`);
          }
          hash.update(piece);
          if (!target) return;
          buffered.push(piece);
          bufferedBytes += piece.length;
          if (bufferedBytes >= PART_BYTES) {
            const part = Buffer.concat(buffered);
            buffered = [];
            bufferedBytes = 0;
            await target.uploadPart(part, signal);
          }
        }),
        signal,
      );
      const actual = hash.digest('hex');
      if (actual !== hex) {
        throw digestInvalid(digest, algorithm, actual);
      }
      // From here on the write relies on the bucket: not while a collection runs.
      const checked = await this.fence.waitForCollection(signal);
      if (!target) {
        // Only checked: the object is the one already there, if it still is.
        if ((await this.objects.head(key, signal))?.size !== total) {
          throw new RegistryStorageError(
            'blob-unknown',
            `blob ${digest} was collected while it was being pushed; push it again`,
          );
        }
        return { size: total, checked };
      }
      if (target.uploadId) {
        if (bufferedBytes > 0) await target.uploadPart(Buffer.concat(buffered), signal);
        await target.complete(signal);
      } else {
        await this.objects.put(key, Buffer.concat(buffered), signal);
      }
      return { size: total, checked };
    } catch (err) {
      await target?.abort().catch(() => {});
      throw err;
    }
  }

  async mountBlob(
    name: string,
    digest: string,
    from: string | undefined,
    options: BackendCallOptions = {},
  ): Promise<boolean> {
    const { signal } = options;
    const checked = await this.fence.waitForCollection(signal);
    if (from !== undefined && !(await this.holds(from, digest, signal))) return false;
    const info = await this.objects.head(blobKey(digest), signal);
    if (!info) return false;
    const blob = { digest, size: info.size };
    await this.records.linkBlob(name, blob, signal);
    await this.committed(name, [blob], checked, signal);
    return true;
  }

  async deleteBlob(
    name: string,
    digest: string,
    options: BackendCallOptions = {},
  ): Promise<boolean> {
    if ((await this.tagged(name, options.signal)).has(digest)) {
      throw blobReferenced(name, digest);
    }
    return this.records.unlinkBlob(name, digest, options.signal);
  }

  // ---- uploads ----

  async completeUpload(
    name: string,
    id: string,
    digest: string,
    chunk?: Readable,
    options: UploadChunkOptions = {},
  ): Promise<StoredBlob> {
    const { signal } = options;
    const done = await this.uploads.finish(name, id, digest, chunk, options);
    try {
      const checked = await this.fence.waitForCollection(signal);
      const key = blobKey(digest);
      const blob = { digest, size: done.size };
      if ((await this.objects.head(key, signal))?.size !== done.size) {
        if (done.bytes) await this.objects.put(key, done.bytes, signal);
        else await copyObject(this.objects, done.dataKey as string, key, done.size, signal);
      }
      await this.records.linkBlob(name, blob, signal);
      await this.committed(name, [blob], checked, signal);
      return blob;
    } finally {
      await done.dispose();
    }
  }

  // ---- manifests and tags ----

  async putManifest(
    name: string,
    manifest: ManifestWrite,
    options: BackendCallOptions = {},
  ): Promise<void> {
    const { signal } = options;
    const { descriptor, requires } = manifest;
    const checked = await this.fence.waitForCollection(signal);
    const present = await Promise.all(
      requires.map(
        async (need) =>
          (await this.holds(name, need.digest, signal)) &&
          (await this.objects.head(blobKey(need.digest), signal))?.size === need.size,
      ),
    );
    const missing = requires.filter((_, i) => !present[i]).map((r) => r.digest);
    if (missing.length > 0) {
      throw manifestBlobsUnknown(name, missing);
    }
    const key = blobKey(descriptor.digest);
    if ((await this.objects.head(key, signal))?.size !== manifest.bytes.length) {
      await this.objects.put(key, manifest.bytes, signal);
    }
    await Promise.all(requires.map((need) => this.records.linkBlob(name, need, signal)));
    await this.records.putManifest(name, { descriptor, subject: manifest.subject }, signal);
    for (const tag of manifest.tags) await this.records.setTag(name, tag, descriptor, signal);
    await this.committed(
      name,
      [...requires, { digest: descriptor.digest, size: manifest.bytes.length }],
      checked,
      signal,
    );
  }

  async deleteManifest(
    name: string,
    digest: string,
    options: BackendCallOptions = {},
  ): Promise<boolean> {
    const { signal } = options;
    const tags = await this.records.tags(name, signal);
    const tagged = [...tags].filter(([, d]) => d.digest === digest).map(([t]) => t);
    if (tagged.length === 0 && (await this.tagged(name, signal, tags)).has(digest)) {
      throw manifestReferenced(name, digest);
    }
    const recorded = await this.records.deleteManifest(name, digest, signal);
    for (const tag of tagged) await this.records.deleteTag(name, tag, signal);
    return recorded || tagged.length > 0;
  }

  deleteTag(name: string, tag: string, options: BackendCallOptions = {}): Promise<boolean> {
    // The manifest stays in the repository, by digest, as distribution keeps it.
    return this.records.deleteTag(name, tag, options.signal);
  }

  collectGarbage(options: CollectGarbageOptions = {}): Promise<CollectGarbageResult> {
    return collectS3Garbage(
      {
        objects: this.objects,
        records: this.records,
        uploads: this.uploads,
        tagged: (name, signal) => this.tagged(name, signal),
        reachable: async (root, signal) =>
          (await contentGraph(this.blobs, root, { signal })).nodes.keys(),
        fenceMs: this.fence.fenceMs,
        leaseMs: this.options.gcLeaseMs ?? DEFAULT_GC_LEASE_MS,
      },
      options,
    );
  }

  /**
   * The object `_NAME.json` below the prefix (see {@link RegistryStorage.document}): one
   * PUT replaces it whole, so readers on other instances see the old or the new value.
   */
  document(name: string): StoredDocument {
    const key = `_${name}.json`;
    return {
      read: async (signal) => (await this.objects.getJson<unknown>(key, signal))?.value,
      write: (value, signal) => this.objects.putJson(key, value, signal),
    };
  }

  /** Every digest the tags of `name` reach (manifests, configs, layers). */
  private async tagged(
    name: string,
    signal?: AbortSignal,
    tags?: Map<string, Descriptor>,
  ): Promise<Set<string>> {
    const out = new Set<string>();
    for (const root of (tags ?? (await this.records.tags(name, signal))).values()) {
      const graph = await contentGraph(this.blobs, root, { signal });
      for (const [digest, node] of graph.nodes) if (node.present) out.add(digest);
    }
    return out;
  }
}
