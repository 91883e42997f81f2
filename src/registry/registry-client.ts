import type { Readable } from 'node:stream';
import type { PullSource, RegistriesConf } from '../containers-conf/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { Descriptor } from '../media/index.js';
import { parseReference, type Reference } from '../ref/index.js';
import {
  RegistryTransport,
  type TransferStats,
  type TransportOptions,
} from '../transport/index.js';
import { readCapped } from '../transport/read-capped.js';
import type { BlobCache } from './blob-cache.js';
import {
  type BlobRange,
  type BlobRequestOptions,
  type BlobStream,
  type BlobTarget,
  openBlob,
  openBlobRange,
  readBlob,
} from './blobs.js';
import { type DeleteOptions, type DeleteTagResult, deleteManifest, deleteTag } from './delete.js';
import type { ImageTrust } from './image-trust.js';
import { type ListOptions, listCatalog, listTags } from './listing.js';
import {
  type FetchedManifest,
  getManifest,
  headManifest,
  type ManifestRequestOptions,
} from './manifests.js';
import { listReferrers, type ReferrersOptions, type ReferrersResult } from './referrers.js';
import {
  hasBlob,
  type MountResult,
  mountBlob,
  putManifest,
  type UploadBlobOptions,
  type UploadRequestOptions,
  uploadBlob,
} from './upload.js';

/** Options for a {@link RegistryClient}; see {@link TransportOptions} for the rest. */
export interface RegistryClientOptions extends TransportOptions {
  /**
   * registries.conf (`loadRegistriesConf`): every request obeys its `blocked` and
   * `insecure`, and images are read through its mirrors and location rewrites
   * ({@link RegistrySource}). Without it references are used as written.
   */
  registries?: RegistriesConf;
  /**
   * What decides whether an image may be read (policy.json: `PolicyTrust`); asked by
   * {@link RegistrySource} before it hands out anything of an image.
   */
  trust?: ImageTrust;
  /**
   * Read blobs through this cache, and keep what is fetched in it ({@link BlobCache}):
   * clients sharing it, in this process or through its store or bucket in others, fetch
   * each blob once.
   */
  blobCache?: BlobCache;
}

function asRef(ref: Reference | string): Reference {
  return typeof ref === 'string' ? parseReference(ref) : ref;
}

/**
 * A client for the OCI distribution API: manifests, verified blobs, uploads,
 * range reads, tags, catalog and referrers. One client keeps one connection pool, one
 * token cache and one set of stats; share it across calls.
 *
 * @example
 * ```ts
 * const client = new RegistryClient();
 * const { manifest, digest } = await client.getManifest('127.0.0.1:5000/app:1.0');
 * ```
 */
export class RegistryClient {
  /** The request chain (auth, retries, TLS) this client sends through. */
  readonly transport: RegistryTransport;
  /** The registries.conf this client obeys, if any. */
  readonly registries: RegistriesConf | undefined;
  /** The trust policy images read through this client obey, if any. */
  readonly trust: ImageTrust | undefined;
  /** The blob cache blobs are read through, if any. */
  readonly blobCache: BlobCache | undefined;

  constructor(options: RegistryClientOptions = {}) {
    this.registries = options.registries;
    this.trust = options.trust;
    this.blobCache = options.blobCache;
    this.transport = new RegistryTransport({
      ...options,
      access: options.access ?? options.registries,
    });
  }

  /**
   * Where to read `ref` from, in order (mirrors, then the registry's own location, each
   * reference rewritten), as registries.conf says; just `ref` without one.
   */
  pullSources(ref: Reference): PullSource[] {
    return this.registries?.pullSources(ref) ?? [{ ref, mirror: false, insecure: false }];
  }

  /** Requests made and bytes fetched so far. */
  get stats(): TransferStats {
    return this.transport.stats;
  }

  /** Close pooled connections; the client cannot be used afterwards. */
  close(): Promise<void> {
    return this.transport.close();
  }

  /** {@link RegistryClient.close}, for `await using client = new RegistryClient()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** GET a manifest or index by tag or digest, verified. */
  getManifest(ref: Reference | string, options?: ManifestRequestOptions): Promise<FetchedManifest> {
    return getManifest(this.transport, asRef(ref), options);
  }

  /** HEAD a manifest: digest, size and media type without the body. */
  headManifest(ref: Reference | string, options?: ManifestRequestOptions): Promise<Descriptor> {
    return headManifest(this.transport, asRef(ref), options);
  }

  /**
   * Stream a blob, size-limited and digest-verified, resuming broken connections; or hand
   * it to a sink with `pipeTo` (see {@link BlobStream}).
   */
  openBlob(
    repo: Reference | string,
    blob: BlobTarget,
    options?: BlobRequestOptions,
  ): Promise<BlobStream> {
    // A resumed download (an offset) wants the registry's bytes from there.
    if (!this.blobCache || options?.offset) {
      return openBlob(this.transport, asRef(repo), blob, options);
    }
    // The cache's fetch is shared by its readers: its own signal, not this caller's.
    const fetch = (signal: AbortSignal) =>
      openBlob(this.transport, asRef(repo), blob, { ...options, signal });
    return this.blobCache.open(blob, fetch, options?.signal);
  }

  /** Read a small blob (a config) whole, verified. */
  async readBlob(
    repo: Reference | string,
    blob: BlobTarget,
    options?: { signal?: AbortSignal; maxBytes?: number },
  ): Promise<Buffer> {
    if (!this.blobCache) return readBlob(this.transport, asRef(repo), blob, options);
    return readCapped(
      await this.openBlob(repo, blob, options),
      options?.maxBytes ?? 64 * 1024 * 1024,
      `blob ${blob.digest}`,
    );
  }

  /** Read part of a blob with one `Range` request (see {@link openBlobRange}). */
  openBlobRange(
    repo: Reference | string,
    digest: string,
    start: number,
    end?: number,
    options?: { signal?: AbortSignal },
  ): Promise<BlobRange> {
    return openBlobRange(this.transport, asRef(repo), digest, start, end, options);
  }

  /** Tags of a repository, all pages. */
  listTags(repo: Reference | string, options?: ListOptions): Promise<string[]> {
    const r = typeof repo === 'string' ? parseReference(repo, { defaultTag: null }) : repo;
    return listTags(this.transport, r, options);
  }

  /** Repositories of a registry (`host[:port]`), all pages. */
  listCatalog(registry: string, options?: ListOptions): Promise<string[]> {
    return listCatalog(this.transport, registry, options);
  }

  /** Manifests that refer to `ref` (which must carry a digest) as their subject. */
  listReferrers(ref: Reference | string, options?: ReferrersOptions): Promise<ReferrersResult> {
    const r = asRef(ref);
    if (!r.digest) throw new InvalidArgumentError(`referrers need a digest reference, got ${r}`);
    return listReferrers(this.transport, r as Reference & { digest: string }, options);
  }

  /** HEAD a blob: its size when `repo` has it, else `undefined`. */
  hasBlob(
    repo: Reference | string,
    digest: string,
    options?: UploadRequestOptions,
  ): Promise<number | undefined> {
    return hasBlob(this.transport, asRef(repo), digest, options);
  }

  /** Mount a blob from another repository of the same registry (see {@link mountBlob}). */
  mountBlob(
    repo: Reference | string,
    digest: string,
    fromRepository: string,
    options?: UploadRequestOptions,
  ): Promise<MountResult> {
    return mountBlob(this.transport, asRef(repo), digest, fromRepository, options);
  }

  /** Upload a blob, monolithic or chunked, verified by digest (see {@link uploadBlob}). */
  uploadBlob(
    repo: Reference | string,
    desc: Pick<Descriptor, 'digest' | 'size'>,
    source: Readable | Buffer,
    options?: UploadBlobOptions,
  ): Promise<void> {
    return uploadBlob(this.transport, asRef(repo), desc, source, options);
  }

  /** PUT a manifest or index under `ref`'s tag or digest; resolves to its digest. */
  putManifest(
    ref: Reference | string,
    bytes: Buffer,
    mediaType: string,
    options?: UploadRequestOptions,
  ): Promise<string> {
    return putManifest(this.transport, asRef(ref), bytes, mediaType, options);
  }

  /**
   * Delete the manifest `ref` names: by digest, or by tag where the registry deletes tags
   * (see {@link deleteManifest}). Deleting by digest removes every tag naming it.
   */
  deleteManifest(ref: Reference | string, options?: DeleteOptions): Promise<void> {
    return deleteManifest(this.transport, asRef(ref), options);
  }

  /** Remove one tag, keeping the manifest and its other tags (see {@link deleteTag}). */
  deleteTag(ref: Reference | string, options?: DeleteOptions): Promise<DeleteTagResult> {
    return deleteTag(this.transport, asRef(ref), options);
  }
}
