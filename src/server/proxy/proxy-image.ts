import { Readable } from 'node:stream';
import { digestOf } from '../../digest/index.js';
import {
  InvalidArgumentError,
  NotFoundError,
  PlatformNotFoundError,
  UnsupportedError,
} from '../../errors/index.js';
import {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  isIndex,
  MediaType,
  manifestMediaType,
  type Platform,
  parseManifest,
} from '../../media/index.js';
import {
  choosePlatform,
  formatPlatform,
  hostPlatform,
  listPlatforms,
} from '../../platform/index.js';
import { readCapped } from '../../transport/read-capped.js';
import { type GoImageConfig, goImageConfig } from './go-image-config.js';
import { goString } from './go-json.js';
import { ociManifestFromSchema2 } from './oci-conversion.js';

/** A manifest or index exactly as the place holds it. */
export interface SourceManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

/**
 * What the proxy needs from a place (registry, layout, archive, store): the shape of the
 * image-source API, so that the proxy depends on it in one file (image-source-adapter.ts).
 */
export interface ProxySource {
  readonly description: string;
  root(options?: { signal?: AbortSignal }): Promise<SourceManifest>;
  manifest(desc: Descriptor, options?: { signal?: AbortSignal }): Promise<SourceManifest>;
  /** A verified stream of the blob. */
  openBlob(desc: Descriptor, options?: { signal?: AbortSignal }): Promise<Readable>;
  close(): Promise<void>;
}

/** The image manifest the proxy serves, once resolved. */
interface Target {
  /** Digest of the original (per-platform) manifest. */
  digest: string;
  mediaType: string;
  bytes: Buffer;
  manifest: ImageManifest;
}

/** A layer as `GetLayerInfo` lists it. */
export interface LayerInfo {
  digest: string;
  size: number;
  media_type: string;
}

/** Configs are small; a hostile place must not make the proxy buffer more. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/**
 * One image as both proxy protocols serve it, with containers/image's semantics: an index
 * resolves to one platform (this host's or the one asked for; an entry without a platform
 * if none matches), only OCI and Docker schema 2 manifests are served, and the manifest
 * goes out as OCI (converted from Docker schema 2, OCI passed through byte for byte).
 * Everything is looked up once, on first use.
 */
export class ProxyImage {
  private target?: Promise<Target>;
  private config?: Promise<GoImageConfig>;

  constructor(
    readonly source: ProxySource,
    private readonly platform: Platform = hostPlatform(),
  ) {}

  /** The per-platform manifest (resolving an index). */
  resolve(): Promise<Target> {
    this.target ??= this.findTarget();
    return this.target;
  }

  private async findTarget(): Promise<Target> {
    let found: SourceManifest = await this.source.root();
    let parsed = parseManifest(found.bytes, found.mediaType);
    if (isIndex(parsed)) {
      const entry = this.choose(parsed);
      found = await this.source.manifest(entry);
      parsed = parseManifest(found.bytes, found.mediaType ?? entry.mediaType);
    }
    const mediaType = manifestMediaType(parsed, found.mediaType);
    if (
      isIndex(parsed) ||
      (mediaType !== MediaType.ociManifest && mediaType !== MediaType.dockerManifest)
    ) {
      throw new UnsupportedError(`unsupported manifest MIME type: ${mediaType}`);
    }
    return { digest: found.digest, mediaType, bytes: found.bytes, manifest: parsed };
  }

  private choose(index: ImageIndex): Descriptor {
    const chosen =
      choosePlatform(index.manifests, this.platform) ?? index.manifests.find((d) => !d.platform);
    if (!chosen) {
      throw new PlatformNotFoundError(
        formatPlatform(this.platform),
        listPlatforms(index.manifests).map(formatPlatform),
      );
    }
    return chosen;
  }

  /** The manifest as OCI, with the digest of the original manifest. */
  async ociManifest(): Promise<{ digest: string; bytes: Buffer }> {
    const target = await this.resolve();
    if (target.mediaType === MediaType.ociManifest) {
      return { digest: target.digest, bytes: target.bytes };
    }
    const config = await this.goConfig();
    return { digest: target.digest, bytes: ociManifestFromSchema2(target.manifest, config.full) };
  }

  /** The config read into the OCI `Image` struct and written back as skopeo does. */
  goConfig(): Promise<GoImageConfig> {
    this.config ??= (async () => {
      const { manifest, mediaType } = await this.resolve();
      const type = manifest.config.mediaType;
      if (mediaType === MediaType.ociManifest && type !== MediaType.ociConfig) {
        throw new UnsupportedError(
          `unsupported image-specific operation on artifact with type ${goString(type)}`,
        );
      }
      const stream = await this.source.openBlob(manifest.config);
      return goImageConfig(
        await readCapped(stream, MAX_CONFIG_BYTES, `config ${manifest.config.digest}`),
      );
    })();
    return this.config;
  }

  /** The layers as the manifest lists them (media types as stored). */
  async layerInfo(): Promise<LayerInfo[]> {
    const { manifest } = await this.resolve();
    return manifest.layers.map((l) => ({
      digest: l.digest,
      size: l.size,
      media_type: l.mediaType,
    }));
  }

  /**
   * Open a blob of the image, verified as it streams. Blobs the manifest references are
   * opened with their own size; the config of a converted manifest comes from memory;
   * any other blob needs `size` from the caller.
   */
  async openBlob(
    digest: string,
    size?: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<{ size: number; stream: Readable }> {
    const { manifest, mediaType } = await this.resolve();
    const known = [manifest.config, ...manifest.layers].find((d) => d.digest === digest);
    if (known) return { size: known.size, stream: await this.source.openBlob(known, options) };
    if (mediaType === MediaType.dockerManifest) {
      // The converted manifest names its config by the digest of the re-encoded bytes,
      // which no registry holds: serve them from memory.
      const { full } = await this.goConfig();
      if (digestOf(full) === digest) return { size: full.length, stream: Readable.from([full]) };
    }
    if (size === undefined) {
      throw new NotFoundError(
        `blob ${digest} is not referenced by ${this.source.description}`,
        'BLOB_UNKNOWN',
      );
    }
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new InvalidArgumentError(`invalid blob size ${size}`);
    }
    const desc = { mediaType: 'application/octet-stream', digest, size };
    return { size, stream: await this.source.openBlob(desc, options) };
  }

  close(): Promise<void> {
    return this.source.close();
  }
}
