import type { Readable } from 'node:stream';
import type { Descriptor } from '../../media/index.js';

/** A manifest as a backend stores it: the exact bytes and the descriptor they hash to. */
export interface StoredManifest {
  /** `mediaType` (from the manifest itself when it says), `digest` and `size` of `bytes`. */
  descriptor: Descriptor;
  /** The exact bytes, already verified against `descriptor.digest`. */
  bytes: Buffer;
}

/** The `signal` every backend call accepts. */
export interface BackendCallOptions {
  signal?: AbortSignal;
}

/** An inclusive byte range of a blob. */
export interface BackendByteRange {
  start: number;
  end: number;
}

/** Options of {@link BackendBlob.read}. */
export interface BackendBlobOptions extends BackendCallOptions {
  /** Only these bytes (default: the whole blob). */
  range?: BackendByteRange;
}

/**
 * A blob a backend has opened: its size now, its bytes once. The caller either reads it
 * or closes it.
 */
export interface BackendBlob {
  /** Bytes in the blob. */
  readonly size: number;
  /**
   * Its bytes, or a range of them. A whole read is verified as it streams: a corrupt blob
   * fails the stream before its end. A range is served only from a blob whose digest has
   * been checked (hashed whole the first time, rejecting with `DigestMismatchError`), since
   * a range alone cannot be verified.
   */
  read(options?: BackendBlobOptions): Promise<Readable>;
  /** Release it unread (a HEAD, an error). Does nothing after `read`. */
  close(): Promise<void>;
  /**
   * A URL the client may fetch the bytes from itself (a presigned S3 URL, with
   * `--s3-redirect`), or `undefined`; the server then answers a GET with a redirect.
   */
  redirect?(options?: BackendCallOptions): Promise<string | undefined>;
}

/**
 * The read side of registry storage: what the registry server needs to answer pulls.
 * `ocipeek serve --root` serves OCI layouts through this alone; {@link RegistryStorage}
 * adds the write side for pushes, deletes and garbage collection.
 *
 * Methods return `undefined` (or an empty list) for content that does not exist; the
 * server checks {@link hasRepository} first and answers `NAME_UNKNOWN` itself. Repository
 * names, tags and digests reaching a backend have already been validated.
 */
export interface RegistryBackend {
  /** Every repository name, sorted. */
  repositories(options?: BackendCallOptions): Promise<string[]>;
  /** True when `name` is a repository this backend serves. */
  hasRepository(name: string, options?: BackendCallOptions): Promise<boolean>;
  /** The tags of repository `name`, sorted, without duplicates. */
  tags(name: string, options?: BackendCallOptions): Promise<string[]>;
  /** The manifest `reference` (a tag or a digest) names in repository `name`. */
  getManifest(
    name: string,
    reference: string,
    options?: BackendCallOptions,
  ): Promise<StoredManifest | undefined>;
  /**
   * Open blob `digest` of repository `name`, or `undefined` when the repository does not
   * hold it (as a regular file of its own: see `openBlobFile`).
   */
  openBlob(
    name: string,
    digest: string,
    options?: BackendCallOptions,
  ): Promise<BackendBlob | undefined>;
  /**
   * Descriptors of the manifests in repository `name` whose `subject` is `digest`, with
   * `artifactType` and `annotations` filled in as the OCI referrers API wants them.
   */
  referrers(name: string, digest: string, options?: BackendCallOptions): Promise<Descriptor[]>;
  /** Release whatever the backend holds open. */
  close?(): Promise<void>;
}

/** A blob a storage holds: its digest and size. */
export interface StoredBlob {
  digest: string;
  size: number;
}

/** Where a chunked upload stands. */
export interface UploadState {
  /** The session id (a UUID), the last part of the upload URL. */
  id: string;
  /** The repository the upload goes to. */
  repository: string;
  /** Bytes received so far; the next chunk must start here. */
  offset: number;
}

/** Options of {@link RegistryStorage.appendUpload} and {@link RegistryStorage.completeUpload}. */
export interface UploadChunkOptions extends BackendCallOptions {
  /**
   * Where the chunk starts (`Content-Range`). A chunk that does not start at the upload's
   * offset is refused with a `RegistryStorageError` of kind `range`, nothing written.
   */
  start?: number;
  /** Bytes the chunk declares (`Content-Length`); more is refused, fewer is a short chunk. */
  length?: number;
}

/** Options of {@link RegistryStorage.putBlob}. */
export interface StoragePutBlobOptions extends BackendCallOptions {
  /** The size the blob must have, when known (a pull-through cache knows it). */
  size?: number;
}

/** What {@link RegistryStorage.putManifest} stores. */
export interface ManifestWrite {
  /** The exact bytes, stored as given. */
  bytes: Buffer;
  /**
   * The manifest's descriptor: `mediaType`, `digest` (of `bytes`) and `size`, plus
   * `artifactType` and `annotations` as the referrers API lists them.
   */
  descriptor: Descriptor;
  /** Tags to point at it, in this repository (none when pushed by digest only). */
  tags: string[];
  /**
   * Content that must already be in the repository (config, layers, child manifests),
   * checked by the storage at the moment it stores the manifest so that a concurrent
   * garbage collection cannot remove it in between. Missing ones fail the call with a
   * `RegistryStorageError` of kind `manifest-blob-unknown`. Empty for a pull-through
   * cache that stores a manifest before its blobs.
   */
  requires: Array<Pick<Descriptor, 'digest' | 'size'>>;
  /** The `subject` digest, recorded so `referrers(subject)` lists this manifest. */
  subject?: string;
}

/** Options of {@link RegistryStorage.collectGarbage}. */
export interface CollectGarbageOptions extends BackendCallOptions {
  /** Report what would go without removing anything. */
  dryRun?: boolean;
  /**
   * Content written more recently than this many milliseconds ago is kept even when
   * nothing reaches it yet: a client pushes layers, then children, then the index that
   * names them. Default one hour.
   */
  graceMs?: number;
  /** Upload sessions idle for longer than this are removed. Default 24 hours. */
  uploadExpiryMs?: number;
}

/** What {@link RegistryStorage.collectGarbage} removed. */
export interface CollectGarbageResult {
  /** Untagged manifests no tag or live referrer reaches, dropped from their repository. */
  manifestsUnlinked: number;
  /** Blob links of repositories whose manifests no longer reference them. */
  blobsUnlinked: number;
  /** Blobs removed from storage (no repository reaches them any more). */
  blobsRemoved: number;
  /** Expired upload sessions removed. */
  uploadsRemoved: number;
  /** Bytes freed. */
  bytesFreed: number;
}

/** A JSON document a storage keeps for its users (see {@link RegistryStorage.document}). */
export interface StoredDocument {
  /** The value last written, or `undefined` when there is none (or it is not JSON). */
  read(signal?: AbortSignal): Promise<unknown>;
  /** Replace the document whole (readers see the old value or the new one). */
  write(value: unknown, signal?: AbortSignal): Promise<void>;
}

/**
 * Registry storage, read and write: the one interface behind the registry server, the
 * pull-through cache (which wraps one, and stores what it fetches through
 * {@link putBlob} and {@link putManifest}) and each backend (the ocipeek store; S3).
 *
 * Rules every implementation keeps:
 * - A blob becomes visible only after its bytes were verified against its digest
 *   (sha256 or sha512); an interrupted or refused write leaves nothing visible.
 * - Content belongs to repositories: a blob is readable in a repository it was pushed,
 *   mounted or linked into (or that a manifest of it references), never just because
 *   another repository has it.
 * - Several processes (several instances on one bucket) may share one storage: upload
 *   state lives in the storage, so a chunked upload can continue on another instance;
 *   {@link collectGarbage} is safe against concurrent pushes.
 */
export interface RegistryStorage extends RegistryBackend {
  /** The size of blob `digest` in repository `name`, or `undefined`. */
  statBlob(name: string, digest: string, options?: BackendCallOptions): Promise<number | undefined>;
  /**
   * Store a blob from a stream whose digest is known (a monolithic push, a pull-through
   * fetch), verified before it becomes visible in `name`; bytes that do not hash to
   * `digest` are refused (`digest-invalid`) and leave nothing.
   */
  putBlob(
    name: string,
    digest: string,
    source: Readable,
    options?: StoragePutBlobOptions,
  ): Promise<StoredBlob>;
  /**
   * Make blob `digest` of repository `from` readable in `name` as well (a cross-repository
   * mount). With `from` undefined, any repository's copy will do. False when there is
   * nothing to mount (the caller then starts an upload).
   */
  mountBlob(
    name: string,
    digest: string,
    from: string | undefined,
    options?: BackendCallOptions,
  ): Promise<boolean>;
  /** Remove blob `digest` from repository `name`; false when it was not there. */
  deleteBlob(name: string, digest: string, options?: BackendCallOptions): Promise<boolean>;

  /** Start a chunked upload into `name`. */
  startUpload(name: string, options?: BackendCallOptions): Promise<UploadState>;
  /** Where upload `id` of `name` stands, or `undefined` when there is no such session. */
  uploadState(
    name: string,
    id: string,
    options?: BackendCallOptions,
  ): Promise<UploadState | undefined>;
  /** Append a chunk to upload `id`; resolves with the new state. */
  appendUpload(
    name: string,
    id: string,
    chunk: Readable,
    options?: UploadChunkOptions,
  ): Promise<UploadState>;
  /**
   * Finish upload `id` with an optional last chunk: the bytes are verified against
   * `digest` and the blob becomes visible in `name`. A mismatch rejects with a
   * `digest-invalid` `RegistryStorageError` and ends the session.
   */
  completeUpload(
    name: string,
    id: string,
    digest: string,
    chunk?: Readable,
    options?: UploadChunkOptions,
  ): Promise<StoredBlob>;
  /** Cancel upload `id`; false when there was no such session. */
  cancelUpload(name: string, id: string, options?: BackendCallOptions): Promise<boolean>;

  /** Store a manifest in `name`, optionally tagged (see {@link ManifestWrite}). */
  putManifest(name: string, manifest: ManifestWrite, options?: BackendCallOptions): Promise<void>;
  /**
   * Remove manifest `digest` from `name`, and every tag of `name` pointing at it; false
   * when `name` did not hold it.
   */
  deleteManifest(name: string, digest: string, options?: BackendCallOptions): Promise<boolean>;
  /** Remove tag `tag` of `name` (the manifest stays); false when there was no such tag. */
  deleteTag(name: string, tag: string, options?: BackendCallOptions): Promise<boolean>;

  /** Remove what no tag or live referrer reaches (see {@link CollectGarbageOptions}). */
  collectGarbage(options?: CollectGarbageOptions): Promise<CollectGarbageResult>;
  /**
   * A small JSON document kept beside the content and shared by every process using this
   * storage (the pull-through cache's record of when each tag was last pulled), read and
   * replaced whole. Optional: a storage without it keeps such records in memory only.
   */
  document?(name: string): StoredDocument;
}

/** True when `backend` can be written to. */
export function isWritable(backend: RegistryBackend): backend is RegistryStorage {
  return typeof (backend as Partial<RegistryStorage>).startUpload === 'function';
}
