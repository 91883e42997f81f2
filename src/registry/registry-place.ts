import type { Readable } from 'node:stream';
import type { Descriptor } from '../media/index.js';
import type { Reference } from '../ref/index.js';
import type {
  ImageDestination,
  ImageSource,
  ManifestBytes,
  OpenSourceBlobOptions,
  PutBlobOptions,
  PutManifestOptions,
  RegistryLocation,
  SourceCallOptions,
} from '../source/index.js';
import { requiredOption } from '../util/required-option.js';
import type { RegistryClient } from './registry-client.js';
import type { UploadSession } from './upload.js';

/** Options of {@link RegistrySource}. */
export interface RegistrySourceOptions {
  /** The client the repository is read through. */
  client: RegistryClient;
}

/**
 * A registry repository as an image source: the reference's manifest, children by
 * digest, blobs streamed straight from the registry (verified, resumed after a broken
 * connection).
 *
 * @example
 * ```ts
 * const source = new RegistrySource(parseReference('127.0.0.1:5000/app:1.0'), { client });
 * ```
 */
export class RegistrySource implements ImageSource {
  readonly kind = 'registry';
  readonly description: string;
  readonly location: RegistryLocation;
  readonly imageName: string;
  private readonly client: RegistryClient;

  constructor(
    readonly ref: Reference,
    options: RegistrySourceOptions,
  ) {
    this.client = requiredOption(options, 'client', 'new RegistrySource(ref, { client })');
    this.description = `docker://${ref}`;
    this.location = { registry: ref.registry, repository: ref.repository };
    this.imageName = ref.toString();
  }

  async resolve(options: SourceCallOptions = {}): Promise<Descriptor> {
    return this.client.headManifest(this.ref, { signal: options.signal });
  }

  async root(options: SourceCallOptions = {}): Promise<ManifestBytes> {
    const m = await this.client.getManifest(this.ref, { signal: options.signal });
    return { bytes: m.bytes, mediaType: m.mediaType, digest: m.digest };
  }

  async manifest(desc: Descriptor, options: SourceCallOptions = {}): Promise<ManifestBytes> {
    const m = await this.client.getManifest(this.ref.withDigest(desc.digest), {
      signal: options.signal,
    });
    return { bytes: m.bytes, mediaType: m.mediaType || desc.mediaType, digest: m.digest };
  }

  openBlob(desc: Descriptor, options: OpenSourceBlobOptions = {}): Promise<Readable> {
    const { signal, offset } = options;
    return this.client.openBlob(
      this.ref,
      { digest: desc.digest, size: desc.size },
      { signal, ...(offset ? { offset } : {}) },
    );
  }

  async close(): Promise<void> {}
}

/** Options of {@link RegistryDestination}. */
export interface RegistryDestinationOptions {
  /** The client the repository is written through. */
  client: RegistryClient;
  /** Upload blobs in `PATCH` chunks of this many bytes instead of one `PUT`. */
  chunkSize?: number;
}

/**
 * A registry repository as a copy destination: HEAD before upload, cross-repository
 * mounts, verified uploads, children by digest and the root by tag (or digest).
 */
export class RegistryDestination implements ImageDestination {
  readonly description: string;
  /** Upload sessions a refused mount opened, reused by the upload that follows. */
  private readonly sessions = new Map<string, UploadSession>();

  private readonly client: RegistryClient;

  constructor(
    readonly ref: Reference,
    private readonly options: RegistryDestinationOptions,
  ) {
    this.client = requiredOption(options, 'client', 'new RegistryDestination(ref, { client })');
    this.description = `docker://${ref}`;
  }

  async hasBlob(desc: Descriptor, options: SourceCallOptions = {}): Promise<boolean> {
    return (await this.client.hasBlob(this.ref, desc.digest, options)) !== undefined;
  }

  async mountBlob(
    desc: Descriptor,
    from: RegistryLocation,
    options: SourceCallOptions = {},
  ): Promise<boolean> {
    if (from.registry !== this.ref.registry || from.repository === this.ref.repository) {
      return false;
    }
    const result = await this.client.mountBlob(this.ref, desc.digest, from.repository, options);
    if (!result.mounted) this.sessions.set(desc.digest, result.session);
    return result.mounted;
  }

  async putBlob(desc: Descriptor, stream: Readable, options: PutBlobOptions): Promise<void> {
    const session = this.sessions.get(desc.digest);
    this.sessions.delete(desc.digest);
    await this.client.uploadBlob(this.ref, desc, stream, {
      chunkSize: this.options.chunkSize,
      session,
      onProgress: options.onProgress,
      signal: options.signal,
    });
  }

  async putManifest(manifest: ManifestBytes, options: PutManifestOptions): Promise<void> {
    // The root goes last, by tag, in commit(): a half-finished copy never moves the tag.
    if (options.root && this.ref.tag && !this.ref.digest) return;
    await this.client.putManifest(
      this.ref.withDigest(manifest.digest),
      manifest.bytes,
      manifest.mediaType,
      {
        signal: options.signal,
      },
    );
  }

  async commit(root: ManifestBytes, options: SourceCallOptions = {}): Promise<string> {
    if (this.ref.tag && !this.ref.digest) {
      return this.client.putManifest(this.ref, root.bytes, root.mediaType, options);
    }
    return root.digest;
  }

  async abort(): Promise<void> {
    this.sessions.clear();
  }
}
