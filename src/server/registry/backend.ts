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
}

/**
 * What the registry server needs from the place it serves content from. Read-only
 * today; a writable backend (the shared store, with push and pull-through) adds upload
 * and tag methods later without changing these.
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
