import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { decompressStream } from '../compression/index.js';
import { digestOf } from '../digest/index.js';
import {
  ESTARGZ_TOC_DIGEST_ANNOTATION,
  ESTARGZ_UNCOMPRESSED_SIZE_ANNOTATION,
} from '../lazy/estargz/constants.js';
import {
  ZSTD_CHUNKED_CHECKSUM_ANNOTATIONS,
  ZSTD_CHUNKED_POSITION_ANNOTATIONS,
  ZSTD_CHUNKED_TARSPLIT_CHECKSUM_ANNOTATION,
  ZSTD_CHUNKED_TARSPLIT_POSITION_ANNOTATION,
} from '../lazy/zstd-chunked/constants.js';
import { type Descriptor, type ImageManifest, MediaType } from '../media/index.js';
import { commitRoot, writeOrAbort } from '../source/destination-writes.js';
import type { ImageDestination, ManifestBytes, OpenedImage } from '../source/index.js';
import { openTargetWriteStream } from '../store/target-write-stream.js';
import { type EstargzLayerResult, writeEstargzLayer } from './estargz-writer.js';

/** Options for {@link convertToEstargz}. */
export interface ConvertToEstargzOptions {
  /** Regular files are split into gzip members of at most this many bytes (default 4 MiB). */
  chunkSize?: number;
  /** gzip level 1–9 (default 6). */
  level?: number;
  /** Where converted layers wait before they are stored (default the system temp folder). */
  tmpDir?: string;
  /** Called after each layer is converted and stored. */
  onLayer?: (layer: ConvertedLayer) => void;
  signal?: AbortSignal;
}

/** One layer before and after conversion. */
export interface ConvertedLayer {
  index: number;
  from: Descriptor;
  to: Descriptor;
  diffId: string;
  tocDigest: string;
}

/** What {@link convertToEstargz} wrote. */
export interface ConvertResult {
  /** Digest of the new manifest as the destination holds it. */
  digest: string;
  manifest: ManifestBytes;
  config: Descriptor;
  layers: ConvertedLayer[];
}

/** Layer annotations of the lazy formats: they describe bytes a conversion replaces. */
export const LAZY_FORMAT_ANNOTATIONS: ReadonlySet<string> = new Set<string>([
  ESTARGZ_TOC_DIGEST_ANNOTATION,
  ESTARGZ_UNCOMPRESSED_SIZE_ANNOTATION,
  ...ZSTD_CHUNKED_CHECKSUM_ANNOTATIONS,
  ...ZSTD_CHUNKED_POSITION_ANNOTATIONS,
  ZSTD_CHUNKED_TARSPLIT_POSITION_ANNOTATION,
  ZSTD_CHUNKED_TARSPLIT_CHECKSUM_ANNOTATION,
]);

function layerMediaType(manifest: ImageManifest, from: Descriptor): string {
  if (from.mediaType.startsWith('application/vnd.docker.')) return MediaType.dockerLayerGzip;
  return manifest.mediaType === MediaType.dockerManifest
    ? MediaType.dockerLayerGzip
    : MediaType.ociLayerGzip;
}

function layerDescriptor(
  manifest: ImageManifest,
  from: Descriptor,
  result: EstargzLayerResult,
): Descriptor {
  const kept = Object.entries(from.annotations ?? {}).filter(
    ([k]) => !LAZY_FORMAT_ANNOTATIONS.has(k),
  );
  return {
    mediaType: layerMediaType(manifest, from),
    digest: result.digest,
    size: result.size,
    annotations: {
      ...Object.fromEntries(kept),
      [ESTARGZ_TOC_DIGEST_ANNOTATION]: result.tocDigest,
      [ESTARGZ_UNCOMPRESSED_SIZE_ANNOTATION]: String(result.uncompressedSize),
    },
  };
}

/**
 * Write an eStargz version of `image` to `destination` (any place `openDestination`
 * opens): every layer is re-tarred with each file's content in its own gzip member(s) and
 * a TOC, and described with its TOC digest and uncompressed size annotations; the config
 * gets the new `diff_ids`, and a new manifest names it all. Commits the destination on
 * success, aborts it on failure.
 */
export async function convertToEstargz(
  image: OpenedImage,
  destination: ImageDestination,
  options: ConvertToEstargzOptions = {},
): Promise<ConvertResult> {
  const { signal } = options;
  const work = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'ocipeek-estargz-'));
  try {
    return await writeOrAbort(destination, async () => {
      const layers: ConvertedLayer[] = [];
      for (const layer of image.layers) {
        const file = join(work, `layer-${layer.index}`);
        // Written as every blob is (store/target-write-stream.ts), with the answer of the
        // lasting folder above this run's work folder.
        const sink = await openTargetWriteStream(file, { folder: dirname(work) });
        let result: EstargzLayerResult;
        let tar: Readable | undefined;
        try {
          const compressed = await layer.open({ signal });
          tar = await decompressStream(compressed, {
            mediaType: layer.descriptor.mediaType,
            what: `layer ${layer.index} (${layer.descriptor.digest})`,
            signal,
          });
          result = await writeEstargzLayer(tar, sink, {
            chunkSize: options.chunkSize,
            level: options.level,
            signal,
          });
        } finally {
          sink.end();
          await finished(sink).catch(() => {});
          tar?.destroy();
        }
        const to = layerDescriptor(image.manifest, layer.descriptor, result);
        if (!(await destination.hasBlob(to, { signal }))) {
          await destination.putBlob(to, createReadStream(file), { role: 'layer', signal });
        }
        await rm(file, { force: true });
        const converted: ConvertedLayer = {
          index: layer.index,
          from: layer.descriptor,
          to,
          diffId: result.diffId,
          tocDigest: result.tocDigest,
        };
        layers.push(converted);
        options.onLayer?.(converted);
      }
      const configJson = {
        ...image.config,
        rootfs: { ...image.config.rootfs, type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      };
      const configBytes = Buffer.from(JSON.stringify(configJson));
      const config: Descriptor = {
        mediaType: image.manifest.config.mediaType,
        digest: digestOf(configBytes, 'sha256'),
        size: configBytes.length,
      };
      if (!(await destination.hasBlob(config, { signal }))) {
        await destination.putBlob(config, Readable.from([configBytes]), { role: 'config', signal });
      }
      const manifestJson: ImageManifest = {
        ...image.manifest,
        config,
        layers: layers.map((l) => l.to),
      };
      const bytes = Buffer.from(JSON.stringify(manifestJson));
      const manifest: ManifestBytes = {
        bytes,
        mediaType: image.manifest.mediaType ?? MediaType.ociManifest,
        digest: digestOf(bytes, 'sha256'),
      };
      const digest = await commitRoot(destination, manifest, signal);
      return { digest, manifest, config, layers };
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
