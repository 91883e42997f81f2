import { Readable } from 'node:stream';
import { EMPTY_DESCRIPTOR } from '../../artifact/artifact-manifest.js';
import { writeArtifact } from '../../artifact/push-artifact.js';
import { digestOf } from '../../digest/index.js';
import { UnsupportedError } from '../../errors/index.js';
import { type Descriptor, MediaType } from '../../media/index.js';
import { writeOrAbort } from '../../source/destination-writes.js';
import type { ImageDestination, OpenedImage } from '../../source/index.js';
import { mapPool } from '../../util/task-pool.js';
import { manifestDescriptor } from '../seek-index/build-seek-index.js';
import { type BuiltZtoc, buildLayerZtoc, DEFAULT_SOCI_SPAN } from './build-ztoc.js';

/*
 * The SOCI index that publishes the zTOCs, as `soci create` writes it (soci/soci_index.go):
 * SOCI Index Manifest v1, an OCI image manifest whose config descriptor has the media type
 * application/vnd.amazon.soci.index.v1+json (over the empty JSON blob `{}`), whose layers
 * are the zTOCs (application/octet-stream, annotated with the image layer's digest and
 * media type and the span size) and whose subject is the image manifest, with the
 * build-tool annotation. soci writes it with Go's encoding/json over ocispec.Manifest, so
 * there is no `artifactType` field (registries take it from the config's media type) and
 * keys come in the struct's order; the bytes here are the same.
 *
 * Why v1 and not v2: soci-snapshotter finds a v1 index through the referrers API (or the
 * referrers tag fallback), from the image as it is. A v2 index instead comes inside a new
 * image ("SOCI-enabled": the image manifest gets a `com.amazon.soci.index-digest`
 * annotation, which changes its digest, and an OCI index lists it beside the SOCI index
 * with `com.amazon.soci.image-manifest-digest`), and issue 23's point is to leave the
 * image's digest alone. soci-snapshotter 0.10 and later reads v1 only when its config says
 * `[pull_modes.soci_v1] enable = true` (README, "SOCI").
 *
 * Which layers: as soci, gzip layers of at least `minLayerSize` (10 MiB by default: below
 * that soci-snapshotter fetches the layer whole anyway); other layers get no zTOC. soci
 * also indexes uncompressed tar layers; this project does not (no gzip, no checkpoints to
 * share with its own index).
 */

/** SOCI Index Manifest v1's artifact type (the config's media type). */
export const SOCI_INDEX_ARTIFACT_TYPE = 'application/vnd.amazon.soci.index.v1+json';
/** The media type of a zTOC blob in a SOCI index. */
export const SOCI_ZTOC_MEDIA_TYPE = 'application/octet-stream';
/** Annotations soci puts on each zTOC descriptor and on the index. */
export const SOCI_ANNOTATIONS = {
  layerDigest: 'com.amazon.soci.image-layer-digest',
  layerMediaType: 'com.amazon.soci.image-layer-mediaType',
  spanSize: 'com.amazon.soci.span-size',
  buildTool: 'com.amazon.soci.build-tool-identifier',
} as const;
/** soci's default smallest layer that gets a zTOC: 10 MiB. */
export const DEFAULT_SOCI_MIN_LAYER_SIZE = 10 * 1024 * 1024;

/** Options of {@link buildSociIndex}. */
export interface BuildSociIndexOptions {
  /** Uncompressed bytes between checkpoints (soci's span size; default 4 MiB). */
  span?: number;
  /** Layers smaller than this (compressed) get no zTOC (default 10 MiB, as soci). */
  minLayerSize?: number;
  /** The build_tool_identifier of the zTOCs and the index (default `ocipeek`). */
  buildToolIdentifier?: string;
  /** Layers indexed at once (default 3). */
  concurrency?: number;
  signal?: AbortSignal;
}

/** A SOCI index built for an image: its manifest and the zTOCs it names. */
export interface BuiltSociIndex {
  manifest: Buffer;
  digest: string;
  /** The descriptor the image's referrers list gives it. */
  descriptor: Descriptor;
  /** Per indexed layer, in layer order: the zTOC's descriptor and what was built. */
  ztocs: Array<{ layer: Descriptor; descriptor: Descriptor; built: BuiltZtoc }>;
  /** Layers given no zTOC, with why. */
  skipped: Array<{ layer: Descriptor; reason: string }>;
}

const isGzip = (d: Descriptor) => /gzip$/.test(d.mediaType);

/**
 * Build a zTOC for each gzip layer of `image` of at least `minLayerSize` (each streamed
 * once, verified as it streams) and the SOCI index (v1) naming them, whose subject is the
 * image manifest. Fails when no layer gets a zTOC, as soci does.
 */
export async function buildSociIndex(
  image: OpenedImage,
  options: BuildSociIndexOptions = {},
): Promise<BuiltSociIndex> {
  const span = options.span ?? DEFAULT_SOCI_SPAN;
  const minLayerSize = options.minLayerSize ?? DEFAULT_SOCI_MIN_LAYER_SIZE;
  const tool = options.buildToolIdentifier ?? 'ocipeek';
  const skipped: BuiltSociIndex['skipped'] = [];
  const todo = image.layers.filter((l) => {
    const d = l.descriptor;
    if (!isGzip(d)) skipped.push({ layer: d, reason: `${d.mediaType} is not gzip` });
    else if (d.size < minLayerSize) {
      skipped.push({
        layer: d,
        reason: `size ${d.size} is less than min-layer-size ${minLayerSize}`,
      });
    } else return true;
    return false;
  });
  if (todo.length === 0) {
    throw new UnsupportedError(
      `no zTOC to build for ${image.name}: no gzip layer of at least ${minLayerSize} bytes`,
    );
  }
  const ztocs = await mapPool(
    todo,
    async (layer, signal) => {
      const body = await layer.open({ signal });
      const built = await buildLayerZtoc(body, layer.descriptor, {
        span,
        buildToolIdentifier: tool,
        signal,
      });
      const descriptor: Descriptor = {
        mediaType: SOCI_ZTOC_MEDIA_TYPE,
        digest: digestOf(built.bytes, 'sha256'),
        size: built.bytes.length,
        annotations: {
          [SOCI_ANNOTATIONS.layerDigest]: layer.descriptor.digest,
          [SOCI_ANNOTATIONS.layerMediaType]: layer.descriptor.mediaType,
          [SOCI_ANNOTATIONS.spanSize]: String(span),
        },
      };
      return { layer: layer.descriptor, descriptor, built };
    },
    {
      concurrency: options.concurrency ?? 3,
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  const subject = await manifestDescriptor(image, options.signal);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: SOCI_INDEX_ARTIFACT_TYPE, digest: EMPTY_DESCRIPTOR.digest, size: 2 },
      layers: ztocs.map((z) => goDescriptor(z.descriptor)),
      subject: goDescriptor({
        mediaType: subject.mediaType,
        digest: subject.digest,
        size: subject.size,
      }),
      annotations: { [SOCI_ANNOTATIONS.buildTool]: tool },
    }),
  );
  const digest = digestOf(manifest, 'sha256');
  return {
    manifest,
    digest,
    descriptor: {
      mediaType: MediaType.ociManifest,
      digest,
      size: manifest.length,
      artifactType: SOCI_INDEX_ARTIFACT_TYPE,
    },
    ztocs,
    skipped,
  };
}

/** A descriptor with its fields in ocispec.Descriptor's order and annotations sorted, as Go writes it. */
function goDescriptor(d: Descriptor): Record<string, unknown> {
  const out: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.annotations && Object.keys(d.annotations).length > 0) {
    out.annotations = Object.fromEntries(
      Object.entries(d.annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  }
  return out;
}

/**
 * Write a built SOCI index to `destination` (a registry repository, `oci:DIR`, the
 * store): the empty config, the zTOCs, the index manifest, committed untagged as the root.
 * Aborts the destination on failure. Resolves to the manifest digest.
 */
export async function writeSociIndex(
  destination: ImageDestination,
  built: BuiltSociIndex,
  options: { signal?: AbortSignal } = {},
): Promise<string> {
  return writeOrAbort(destination, async () => {
    const root = { bytes: built.manifest, mediaType: MediaType.ociManifest, digest: built.digest };
    const blobs = built.ztocs.map(({ descriptor, built: z }) => ({
      descriptor,
      open: () => Readable.from([z.bytes]),
    }));
    return await writeArtifact(destination, root, blobs, options);
  });
}
