import { Readable } from 'node:stream';
import { digestOf } from '../digest/index.js';
import {
  type Descriptor,
  type HistoryEntry,
  type ImageConfig,
  type ImageManifest,
  MediaType,
} from '../media/index.js';
import { writeOrAbort } from '../source/destination-writes.js';
import type { ImageDestination, ManifestBytes, OpenedImage } from '../source/index.js';

/** One layer of an image being written: its descriptor, diff_id and bytes. */
export interface LayerToWrite {
  descriptor: Descriptor;
  diffId: string;
  /** The compressed bytes (verified by whoever provides them). */
  open(signal?: AbortSignal): Promise<Readable>;
}

/** An image to write: layers bottom first, the config they go with, the manifest format. */
export interface ImageToWrite {
  layers: LayerToWrite[];
  /** The config; `rootfs.diff_ids` is set from `layers`. */
  config: ImageConfig;
  /** Written as Docker schema 2 (`docker`) or OCI (default). */
  format?: 'oci' | 'docker';
  /** Manifest annotations (OCI only). */
  annotations?: Record<string, string>;
}

/** What {@link writeImage} wrote. */
export interface WrittenImage {
  /** The manifest's digest as the destination holds it. */
  digest: string;
  manifest: ManifestBytes;
  config: Descriptor;
}

/** The layers of an opened image, to keep in an edited one. */
export function layersOf(image: OpenedImage): LayerToWrite[] {
  return image.layers.map((layer) => ({
    descriptor: layer.descriptor,
    diffId: layer.diffId ?? '',
    open: (signal) => layer.open({ signal }),
  }));
}

/** A history step for a layer made by `createdBy`, stamped now. */
export function historyStep(createdBy: string, comment?: string): HistoryEntry {
  const step: HistoryEntry = { created: new Date().toISOString(), created_by: createdBy };
  if (comment) step.comment = comment;
  return step;
}

/**
 * Write an edited image to `destination` (any place `openDestination` opens): each layer
 * the destination lacks, the config (its `diff_ids` those of `layers`), then the manifest
 * naming them, and commit. Aborts the destination on failure.
 */
export async function writeImage(
  destination: ImageDestination,
  image: ImageToWrite,
  options: { signal?: AbortSignal } = {},
): Promise<WrittenImage> {
  const { signal } = options;
  return writeOrAbort(destination, async () => {
    const put = await putImage(destination, image, { root: true, signal });
    const digest = await destination.commit(put.manifest, { signal });
    return { ...put, digest };
  });
}

/**
 * Put an edited image's blobs and manifest into `destination` without committing: the
 * root of what is written (`root`), or one image of an index written after it.
 */
export async function putImage(
  destination: ImageDestination,
  image: ImageToWrite,
  options: { root: boolean; signal?: AbortSignal },
): Promise<WrittenImage> {
  const { signal } = options;
  const docker = image.format === 'docker';
  for (const layer of image.layers) {
    if (await destination.hasBlob(layer.descriptor, { signal })) continue;
    const stream = await layer.open(signal);
    try {
      await destination.putBlob(layer.descriptor, stream, { role: 'layer', signal });
    } finally {
      if (!stream.destroyed) stream.destroy();
    }
  }
  const configJson: ImageConfig = {
    ...image.config,
    rootfs: { type: 'layers', diff_ids: image.layers.map((l) => l.diffId) },
  };
  const configBytes = Buffer.from(JSON.stringify(configJson));
  const config: Descriptor = {
    mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig,
    digest: digestOf(configBytes, 'sha256'),
    size: configBytes.length,
  };
  if (!(await destination.hasBlob(config, { signal }))) {
    await destination.putBlob(config, Readable.from([configBytes]), { role: 'config', signal });
  }
  const mediaType = docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifestJson: ImageManifest = {
    schemaVersion: 2,
    mediaType,
    config,
    layers: image.layers.map((l) => l.descriptor),
  };
  if (!docker && image.annotations && Object.keys(image.annotations).length > 0) {
    manifestJson.annotations = image.annotations;
  }
  const bytes = Buffer.from(JSON.stringify(manifestJson));
  const manifest: ManifestBytes = { bytes, mediaType, digest: digestOf(bytes, 'sha256') };
  await destination.putManifest(manifest, { root: options.root, signal });
  return { digest: manifest.digest, manifest, config };
}
