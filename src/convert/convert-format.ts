import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf } from '../digest/index.js';
import { InvalidArgumentError, UnsupportedError } from '../errors/index.js';
import { zstdChunkedAnnotation } from '../lazy/zstd-chunked/constants.js';
import {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  isForeignLayer,
  isIndex,
  isLayerMediaType,
  layerCompression,
  MediaType,
  type Platform,
  parseManifest,
} from '../media/index.js';
import { formatPlatform, isAttestationEntry, requirePlatform } from '../platform/index.js';
import { commitRoot, writeOrAbort } from '../source/destination-writes.js';
import type { ImageDestination, ImageSource, ManifestBytes } from '../source/index.js';
import { tempName } from '../store/atomic-file.js';
import { LAZY_FORMAT_ANNOTATIONS } from './convert-image.js';
import { type LayerCompressionFormat, recompressBlob } from './recompress-blob.js';

/** Manifest formats an image can be written in: OCI, or Docker schema 2 (`v2s2`). */
export type ManifestFormat = 'oci' | 'v2s2';

/** Options of {@link convertImageFormat}. */
export interface ConvertFormatOptions {
  /** Rewrite every layer not already so compressed (default: keep each as it is). */
  compression?: LayerCompressionFormat;
  /** Compression level (see {@link recompressBlob}). */
  level?: number;
  /** Manifest format to write (default: the source's). */
  format?: ManifestFormat;
  /** Convert every image of an index (attestation manifests are left out: their subjects change). */
  allPlatforms?: boolean;
  /** From an index, convert these platforms into a new index. */
  platforms?: Platform[];
  /** From an index, convert this platform's image alone (default: the host's). */
  platform?: Platform;
  /** Where recompressed layers wait before they are stored (default the system temp folder). */
  tmpDir?: string;
  signal?: AbortSignal;
}

/** What {@link convertImageFormat} wrote. */
export interface ConvertFormatResult {
  /** The source root's digest. */
  sourceDigest: string;
  /** The new root's digest as the destination holds it. */
  digest: string;
  mediaType: string;
  /** Platforms written, for an index or a platform picked from one. */
  platforms: string[];
  /** Layers recompressed, layers kept as they were (possibly with a new media type). */
  layers: { recompressed: number; kept: number };
  /** Bytes of the recompressed layers. */
  bytesWritten: number;
}

/** Media types of each format. */
const TYPES = {
  oci: { manifest: MediaType.ociManifest, index: MediaType.ociIndex, config: MediaType.ociConfig },
  v2s2: {
    manifest: MediaType.dockerManifest,
    index: MediaType.dockerManifestList,
    config: MediaType.dockerConfig,
  },
} as const;

/** Docker's uncompressed layer type (containers/image's `DockerV2SchemaLayerMediaTypeUncompressed`). */
const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';

const DOCKER_HAS_NO_ZSTD =
  'Docker schema 2 has no zstd layers: use --format oci, or --dest-compress-format gzip';

/** A layer media type for `format` and `compression`. */
function layerType(
  format: ManifestFormat,
  compression: LayerCompressionFormat | 'none',
  foreign: boolean,
): string {
  if (format === 'oci') {
    const base = foreign ? MediaType.ociLayerNondistributable : MediaType.ociLayer;
    // zstd:chunked is zstd to every reader: only its annotations tell it apart.
    const suffix = compression === 'zstd:chunked' ? 'zstd' : compression;
    return compression === 'none' ? base : `${base}+${suffix}`;
  }
  if (compression !== 'gzip' && compression !== 'none') {
    throw new UnsupportedError(DOCKER_HAS_NO_ZSTD);
  }
  if (foreign) {
    if (compression === 'none')
      throw new UnsupportedError('Docker schema 2 foreign layers are gzip only');
    return MediaType.dockerLayerForeignGzip;
  }
  return compression === 'none' ? DOCKER_LAYER_TAR : MediaType.dockerLayerGzip;
}

function formatOf(mediaType: string | undefined): ManifestFormat {
  return mediaType === MediaType.dockerManifest || mediaType === MediaType.dockerManifestList
    ? 'v2s2'
    : 'oci';
}

/**
 * Copy what `source` names into `destination` converted: layers recompressed (gzip or
 * zstd, as skopeo's `--dest-compress-format`), and/or manifests, configs and layers given
 * the media types of another format (OCI or Docker schema 2, as skopeo's `--format`).
 * Configs keep their bytes (the uncompressed layers, and so the diff_ids, do not change);
 * manifests and indexes are new JSON, so their digests change. Docker schema 2 has no
 * annotations, artifact types, subjects or zstd: annotations are dropped, the others
 * refused. Commits the destination on success, aborts it on failure.
 */
export async function convertImageFormat(
  source: ImageSource,
  destination: ImageDestination,
  options: ConvertFormatOptions = {},
): Promise<ConvertFormatResult> {
  const { signal } = options;
  // Refused before any layer is recompressed.
  if (options.format === 'v2s2' && options.compression?.startsWith('zstd')) {
    throw new UnsupportedError(DOCKER_HAS_NO_ZSTD);
  }
  // Named with the pid, so the store's prune removes what a killed run leaves there.
  const work = tempName(options.tmpDir ?? tmpdir(), 'convert');
  await mkdir(work);
  const result: ConvertFormatResult = {
    sourceDigest: '',
    digest: '',
    mediaType: '',
    platforms: [],
    layers: { recompressed: 0, kept: 0 },
    bytesWritten: 0,
  };
  const converter = new ImageConverter(source, destination, options, work, result);
  try {
    return await writeOrAbort(destination, async () => {
      const root = await source.root({ signal });
      result.sourceDigest = root.digest;
      const parsed = parseManifest(root.bytes, root.mediaType);
      let written: ManifestBytes;
      if (!isIndex(parsed)) {
        written = await converter.image(root, parsed);
      } else if (options.allPlatforms || (options.platforms?.length ?? 0) > 1) {
        if (destination.singleImage) {
          throw new UnsupportedError(
            `${destination.description} holds one image; pick one platform`,
          );
        }
        written = await converter.index(root, parsed);
      } else {
        const wanted = options.platforms?.[0] ?? options.platform;
        const child = requirePlatform(parsed.manifests, wanted);
        if (child.platform) result.platforms.push(formatPlatform(child.platform));
        const bytes = await source.manifest(child, { signal });
        const image = parseManifest(bytes.bytes, bytes.mediaType);
        if (isIndex(image)) throw new UnsupportedError(`nested index ${child.digest}`);
        written = await converter.image(bytes, image);
      }
      result.mediaType = written.mediaType;
      result.digest = await commitRoot(destination, written, signal);
      return result;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The conversion of one run: images, then the index naming them. */
class ImageConverter {
  private layerCount = 0;

  constructor(
    private readonly source: ImageSource,
    private readonly destination: ImageDestination,
    private readonly options: ConvertFormatOptions,
    private readonly work: string,
    private readonly result: ConvertFormatResult,
  ) {}

  /** Convert every (or every chosen) image of an index; the new index is returned. */
  async index(root: ManifestBytes, index: ImageIndex): Promise<ManifestBytes> {
    const { signal } = this.options;
    const format = this.options.format ?? formatOf(root.mediaType);
    let entries = index.manifests.filter((d) => !isAttestationEntry(d));
    if (this.options.platforms && this.options.platforms.length > 1) {
      const chosen = new Set(this.options.platforms.map((p) => requirePlatform(entries, p).digest));
      entries = entries.filter((d) => chosen.has(d.digest));
    }
    if (index.subject || index.artifactType) this.refuseArtifactIn(format, root.digest);
    const manifests: Descriptor[] = [];
    for (const entry of entries) {
      const child = await this.source.manifest(entry, { signal });
      const parsed = parseManifest(child.bytes, child.mediaType);
      if (isIndex(parsed)) throw new UnsupportedError(`nested index ${entry.digest}`);
      const written = await this.image(child, parsed);
      await this.destination.putManifest(written, { root: false, signal });
      const descriptor: Descriptor = {
        mediaType: written.mediaType,
        digest: written.digest,
        size: written.bytes.length,
      };
      if (entry.platform) {
        descriptor.platform = entry.platform;
        this.result.platforms.push(formatPlatform(entry.platform));
      }
      if (format === 'oci' && entry.annotations) descriptor.annotations = entry.annotations;
      manifests.push(descriptor);
    }
    const json: ImageIndex = { schemaVersion: 2, mediaType: TYPES[format].index, manifests };
    if (format === 'oci' && index.annotations) json.annotations = index.annotations;
    return manifestBytes(json, TYPES[format].index);
  }

  /** Convert one image manifest and its blobs; the new manifest is returned, not stored. */
  async image(root: ManifestBytes, manifest: ImageManifest): Promise<ManifestBytes> {
    const format = this.options.format ?? formatOf(root.mediaType);
    const isImage =
      manifest.config.mediaType === MediaType.ociConfig ||
      manifest.config.mediaType === MediaType.dockerConfig;
    if (format === 'v2s2' && (!isImage || manifest.subject || manifest.artifactType)) {
      this.refuseArtifactIn(format, root.digest);
    }
    const config: Descriptor = {
      ...manifest.config,
      mediaType: isImage ? TYPES[format].config : manifest.config.mediaType,
    };
    await this.copyBlob(manifest.config, 'config');
    const layers: Descriptor[] = [];
    let changed = format !== formatOf(root.mediaType);
    for (const layer of manifest.layers) {
      const converted = await this.layer(layer, format);
      changed ||= converted.digest !== layer.digest;
      layers.push(converted);
    }
    // Nothing to change: the manifest's own bytes, so its digest stays.
    if (!changed) return root;
    const json: ImageManifest = {
      schemaVersion: 2,
      mediaType: TYPES[format].manifest,
      config: stripFor(format, config),
      layers,
    };
    if (format === 'oci') {
      if (manifest.artifactType) json.artifactType = manifest.artifactType;
      if (manifest.subject) json.subject = manifest.subject;
      if (manifest.annotations) json.annotations = manifest.annotations;
    }
    return manifestBytes(json, TYPES[format].manifest);
  }

  /** One layer: recompressed when asked and needed, else copied with its new media type. */
  private async layer(layer: Descriptor, format: ManifestFormat): Promise<Descriptor> {
    const { signal } = this.options;
    const foreign = isForeignLayer(layer);
    const current = layerCompression(layer.mediaType);
    if (!isLayerMediaType(layer.mediaType) || current === 'unknown') {
      await this.copyBlob(layer, 'layer');
      this.result.layers.kept++;
      return layer;
    }
    const wanted = this.options.compression;
    // A zstd layer that already has a TOC is zstd:chunked; one without must be rewritten.
    const already =
      wanted === current ||
      (wanted === 'zstd:chunked' &&
        current === 'zstd' &&
        zstdChunkedAnnotation(layer, 'checksum') !== undefined);
    if (foreign || !wanted || already) {
      if (!foreign) await this.copyBlob(layer, 'layer');
      this.result.layers.kept++;
      return stripFor(format, { ...layer, mediaType: layerType(format, current, foreign) });
    }
    const file = join(this.work, `layer-${this.layerCount++}`);
    const blob = await this.source.openBlob(layer, { signal });
    const written = await recompressBlob(blob, layer.mediaType, wanted, file, {
      level: this.options.level,
      signal,
    });
    const kept = Object.entries(layer.annotations ?? {}).filter(
      ([k]) => !LAZY_FORMAT_ANNOTATIONS.has(k),
    );
    const to: Descriptor = {
      mediaType: layerType(format, wanted, false),
      digest: written.digest,
      size: written.size,
    };
    if (kept.length > 0 || written.annotations) {
      to.annotations = { ...Object.fromEntries(kept), ...written.annotations };
    }
    if (!(await this.destination.hasBlob(to, { signal }))) {
      await this.destination.putBlob(to, createReadStream(file), { role: 'layer', signal });
    }
    await rm(file, { force: true });
    this.result.layers.recompressed++;
    this.result.bytesWritten += written.size;
    return stripFor(format, to);
  }

  /** Copy a blob byte for byte unless the destination has it. */
  private async copyBlob(desc: Descriptor, role: 'config' | 'layer'): Promise<void> {
    const { signal } = this.options;
    if (await this.destination.hasBlob(desc, { signal })) return;
    const stream = await this.source.openBlob(desc, { signal });
    try {
      await this.destination.putBlob(desc, stream, { role, signal });
    } finally {
      if (!stream.destroyed) stream.destroy();
    }
  }

  private refuseArtifactIn(format: ManifestFormat, digest: string): void {
    if (format === 'v2s2') {
      throw new InvalidArgumentError(
        `${digest} is an artifact or names a subject, which Docker schema 2 cannot hold: use --format oci`,
      );
    }
  }
}

/** Docker schema 2 descriptors have no annotations, platforms in manifests or artifact types. */
function stripFor(format: ManifestFormat, desc: Descriptor): Descriptor {
  if (format === 'oci') return desc;
  const out: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
  if (desc.urls) out.urls = desc.urls;
  return out;
}

function manifestBytes(json: ImageManifest | ImageIndex, mediaType: string): ManifestBytes {
  const bytes = Buffer.from(JSON.stringify(json));
  return { bytes, mediaType, digest: digestOf(bytes, 'sha256') };
}
