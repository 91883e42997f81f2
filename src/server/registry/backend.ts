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

/** Options of {@link RegistryBackend.openBlob}. */
export interface BackendBlobOptions extends BackendCallOptions {
  /** First byte (default 0). */
  start?: number;
  /** Last byte, inclusive (default: the end). */
  end?: number;
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
  /** The size of blob `digest` in repository `name`, or `undefined`. */
  statBlob(name: string, digest: string, options?: BackendCallOptions): Promise<number | undefined>;
  /**
   * Stream blob `digest` (or a byte range of it). Whole reads are verified: a corrupt blob
   * fails the stream before it ends.
   */
  openBlob(name: string, digest: string, options?: BackendBlobOptions): Readable;
  /**
   * Descriptors of the manifests in repository `name` whose `subject` is `digest`, with
   * `artifactType` and `annotations` filled in as the OCI referrers API wants them.
   */
  referrers(name: string, digest: string, options?: BackendCallOptions): Promise<Descriptor[]>;
  /** Release whatever the backend holds open. */
  close?(): Promise<void>;
}
