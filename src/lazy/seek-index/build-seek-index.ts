import { Readable } from 'node:stream';
import { buildArtifactManifest, CREATED_ANNOTATION } from '../../artifact/artifact-manifest.js';
import { writeArtifact } from '../../artifact/push-artifact.js';
import { digestOf } from '../../digest/index.js';
import { InvalidManifestError, UnsupportedError } from '../../errors/index.js';
import { type Descriptor, isIndex, parseManifest } from '../../media/index.js';
import { writeOrAbort } from '../../source/destination-writes.js';
import type { ImageDestination, OpenedImage } from '../../source/index.js';
import { mapPool } from '../../util/task-pool.js';
import { lazyFormatOf } from '../lazy-layer.js';
import { buildLayerSeekIndex } from './build-layer-index.js';
import {
  encodeLayerSeekIndex,
  type LayerSeekIndex,
  SEEK_INDEX_ARTIFACT_TYPE,
  SEEK_INDEX_LAYER_ANNOTATION,
  SEEK_INDEX_RECORDS_MEDIA_TYPE,
  SEEK_INDEX_TABLE_MEDIA_TYPE,
} from './seek-index-format.js';

/** Options of {@link buildSeekIndex}. */
export interface BuildSeekIndexOptions {
  /** Uncompressed bytes between checkpoints, at most (plus a block; default 4 MiB). */
  span?: number;
  /** Compressed bytes between checkpoints, at most (default 0.5% of the layer, ≥ 128 KiB). */
  compressedSpan?: number;
  /** Uncompressed bytes between piece digests, at least (default 64 KiB). */
  piece?: number;
  /** Layers indexed at once (default 3, as listing). */
  concurrency?: number;
  signal?: AbortSignal;
}

/** A seek index built for an image: the artifact manifest and the blobs it names. */
export interface BuiltSeekIndex {
  /** The artifact manifest (subject: the image manifest). */
  manifest: Buffer;
  digest: string;
  /** The descriptor the image's referrers list gives it. */
  descriptor: Descriptor;
  /**
   * Per gzip layer, in layer order: its table blob (`descriptor`, `bytes`, decoded as
   * `index`) and its records blob.
   */
  blobs: Array<{
    descriptor: Descriptor;
    bytes: Buffer;
    index: LayerSeekIndex;
    records: { descriptor: Descriptor; bytes: Buffer };
  }>;
}

const isGzip = (d: Descriptor) => /gzip$/.test(d.mediaType);

/**
 * Build the seek index of every gzip layer of `image` (each streamed once, verified
 * against its digest as it streams) and the OCI 1.1 artifact manifest that publishes them
 * as a referrer of the image manifest. Layers that are eStargz or zstd:chunked need none
 * (they have TOCs); any other layer that is not gzip fails: it cannot be indexed.
 */
export async function buildSeekIndex(
  image: OpenedImage,
  options: BuildSeekIndexOptions = {},
): Promise<BuiltSeekIndex> {
  const todo = image.layers.filter((l) => !lazyFormatOf(l.descriptor));
  for (const l of todo) {
    if (!isGzip(l.descriptor)) {
      throw new UnsupportedError(
        `layer ${l.index} (${l.descriptor.digest}) is ${l.descriptor.mediaType}; only gzip layers can be seek-indexed`,
      );
    }
  }
  const blobs = await mapPool(
    todo,
    async (layer, signal) => {
      const body = await layer.open({ signal });
      const { index, records } = await buildLayerSeekIndex(body, layer.descriptor, {
        span: options.span,
        compressedSpan: options.compressedSpan,
        piece: options.piece,
        signal,
      });
      const bytes = encodeLayerSeekIndex(index);
      const annotations = { [SEEK_INDEX_LAYER_ANNOTATION]: layer.descriptor.digest };
      const descriptor: Descriptor = {
        mediaType: SEEK_INDEX_TABLE_MEDIA_TYPE,
        digest: digestOf(bytes, 'sha256'),
        size: bytes.length,
        annotations,
      };
      const recordsDescriptor: Descriptor = {
        mediaType: SEEK_INDEX_RECORDS_MEDIA_TYPE,
        digest: index.records.digest,
        size: index.records.size,
        annotations,
      };
      return {
        descriptor,
        bytes,
        index,
        records: { descriptor: recordsDescriptor, bytes: records },
      };
    },
    {
      concurrency: options.concurrency ?? 3,
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  const annotations = {
    [CREATED_ANNOTATION]: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  const built = buildArtifactManifest({
    artifactType: SEEK_INDEX_ARTIFACT_TYPE,
    layers: blobs.flatMap((b) => [b.descriptor, b.records.descriptor]),
    subject: await manifestDescriptor(image, options.signal),
    annotations,
  });
  return {
    manifest: built.bytes,
    digest: built.digest,
    descriptor: {
      mediaType: built.manifest.mediaType!,
      digest: built.digest,
      size: built.bytes.length,
      artifactType: SEEK_INDEX_ARTIFACT_TYPE,
      annotations,
    },
    blobs,
  };
}

/** The image manifest's descriptor (its size from the root, or the index naming it). */
export async function manifestDescriptor(
  image: OpenedImage,
  signal?: AbortSignal,
): Promise<Descriptor> {
  const root = await image.source.root({ signal });
  if (root.digest === image.manifestDigest) {
    return { mediaType: root.mediaType, digest: root.digest, size: root.bytes.length };
  }
  const index = parseManifest(root.bytes, root.mediaType);
  const entry = isIndex(index)
    ? index.manifests.find((d) => d.digest === image.manifestDigest)
    : undefined;
  if (!entry) throw new InvalidManifestError(`${image.name} does not list ${image.manifestDigest}`);
  return { mediaType: entry.mediaType, digest: entry.digest, size: entry.size };
}

/**
 * Write a built seek index to `destination` (a registry repository, `oci:DIR`, the
 * store): the empty config, the index blobs, the artifact manifest, committed untagged as
 * the root. Aborts the destination on failure. Resolves to the manifest digest.
 */
export async function writeSeekIndex(
  destination: ImageDestination,
  built: BuiltSeekIndex,
  options: { signal?: AbortSignal } = {},
): Promise<string> {
  return writeOrAbort(destination, async () => {
    const root = {
      bytes: built.manifest,
      mediaType: built.descriptor.mediaType,
      digest: built.digest,
    };
    const blobs = built.blobs.flatMap((b) =>
      [b, b.records].map(({ descriptor, bytes }) => ({
        descriptor,
        open: () => Readable.from([bytes]),
      })),
    );
    return await writeArtifact(destination, root, blobs, options);
  });
}
