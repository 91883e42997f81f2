import type { Readable } from 'node:stream';
import type { Descriptor } from '../media/index.js';
import { type Reference, sameRegistryHost } from '../ref/index.js';
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
 * With registries.conf (the client's `registries`), the image is looked for at each pull
 * source in order, the mirrors and then the registry's own (rewritten) location, as
 * containers/image does: the first that has the manifest serves everything after it
 * (`served`, named in the `--verbose` log); when none has it, the primary's error is
 * thrown.
 *
 * @example
 * ```ts
 * const source = new RegistrySource(parseReference('127.0.0.1:5000/app:1.0'), { client });
 * ```
 */
export class RegistrySource implements ImageSource {
  readonly kind = 'registry';
  readonly description: string;
  readonly imageName: string;
  private readonly client: RegistryClient;
  /** Where the image is read from, once the first manifest request found it. */
  private servedBy: Reference | undefined;
  /** What the client's trust policy said of the root (once it was asked). */
  private verdictOf: Promise<unknown> | undefined;

  constructor(
    /** The reference as asked for (before mirrors and rewrites). */
    readonly ref: Reference,
    options: RegistrySourceOptions,
  ) {
    this.client = requiredOption(options, 'client', 'new RegistrySource(ref, { client })');
    this.description = `docker://${ref}`;
    this.imageName = ref.toString();
  }

  /** The reference of the endpoint that serves the image (the asked one until resolved). */
  get served(): Reference {
    return this.servedBy ?? this.ref;
  }

  get location(): RegistryLocation {
    return { registry: this.served.registry, repository: this.served.repository };
  }

  /**
   * Run the first manifest request against each pull source in turn until one answers;
   * that source serves the rest. Later calls go straight to it.
   */
  private async firstAnswer<T>(
    ask: (ref: Reference) => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    if (this.servedBy) return ask(this.servedBy);
    const sources = this.client.pullSources(this.ref);
    const log = (line: string) => this.client.transport.log(line);
    let primaryError: unknown;
    for (const source of sources) {
      try {
        const answer = await ask(source.ref);
        this.servedBy = source.ref;
        if (sources.length > 1 || source.ref.toString() !== this.ref.toString()) {
          log(`* ${this.ref} served by ${source.mirror ? 'mirror ' : ''}${source.ref}`);
        }
        return answer;
      } catch (err) {
        if (signal?.aborted) throw err;
        if (sources.length > 1) log(`* ${source.ref} failed: ${(err as Error).message}`);
        primaryError = err;
      }
    }
    throw primaryError;
  }

  async resolve(options: SourceCallOptions = {}): Promise<Descriptor> {
    const { signal } = options;
    return this.firstAnswer((ref) => this.client.headManifest(ref, { signal }), signal);
  }

  async root(options: SourceCallOptions = {}): Promise<ManifestBytes> {
    const { signal } = options;
    const m = await this.firstAnswer((ref) => this.client.getManifest(ref, { signal }), signal);
    const root = { bytes: m.bytes, mediaType: m.mediaType, digest: m.digest };
    const trust = this.client.trust;
    if (trust && !this.verdictOf) {
      const image = {
        ref: this.ref,
        served: this.served,
        rootDigest: m.digest,
        rootBytes: m.bytes,
      };
      this.verdictOf = trust.verify(image, this.client, { signal });
    }
    await this.verdictOf;
    return root;
  }

  /**
   * What the client's trust policy said of this image (after {@link RegistrySource.root};
   * undefined without a policy). Nothing but `resolve` is handed out before it accepted.
   */
  async verdict(options: SourceCallOptions = {}): Promise<unknown> {
    if (!this.client.trust) return undefined;
    if (!this.verdictOf) await this.root(options);
    return this.verdictOf;
  }

  /**
   * Ask the client's trust policy about a copy of this image's root held elsewhere (the
   * store's, when a pull found it current and read nothing from the registry): the same
   * check {@link RegistrySource.root} makes, with signatures read from where this source
   * reads (the primary location unless a request already found the serving endpoint).
   * Undefined without a policy; throws when the policy refuses the image.
   */
  async verifyHeld(
    root: { digest: string; bytes: Buffer },
    options: SourceCallOptions = {},
  ): Promise<unknown> {
    const trust = this.client.trust;
    if (!trust) return undefined;
    const image = {
      ref: this.ref,
      served: this.served,
      rootDigest: root.digest,
      rootBytes: root.bytes,
    };
    return trust.verify(image, this.client, { signal: options.signal });
  }

  /** With a trust policy, the root must have been accepted before anything else is read. */
  private async trusted(signal: AbortSignal | undefined): Promise<void> {
    if (this.client.trust) await this.verdict({ signal });
  }

  async manifest(desc: Descriptor, options: SourceCallOptions = {}): Promise<ManifestBytes> {
    const { signal } = options;
    await this.trusted(signal);
    const m = await this.firstAnswer(
      (ref) => this.client.getManifest(ref.withDigest(desc.digest), { signal }),
      signal,
    );
    return { bytes: m.bytes, mediaType: m.mediaType || desc.mediaType, digest: m.digest };
  }

  async openBlob(desc: Descriptor, options: OpenSourceBlobOptions = {}): Promise<Readable> {
    const { signal, offset } = options;
    await this.trusted(signal);
    return this.client.openBlob(
      this.served,
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
    // One server whatever the case its host is written in (ref/registry-host.ts).
    if (
      !sameRegistryHost(from.registry, this.ref.registry) ||
      from.repository === this.ref.repository
    ) {
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
