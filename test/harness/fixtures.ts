import { randomBytes } from 'node:crypto';
import type {
  Descriptor,
  HistoryEntry,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  Platform,
} from '../../src/media/types.js';
import {
  type BuiltLayer,
  type LayerCompressionKind,
  type LayerEntry,
  layerOfTar,
  makeLayer,
} from './layers.js';
import { type DigestAlgorithm, jsonBytes, type LayoutWriter } from './oci-layout-writer.js';

/** Media types the fixtures use, by family. */
export const FIXTURE_MEDIA_TYPES = {
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    index: 'application/vnd.oci.image.index.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
  },
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
  },
} as const;

/** Options for {@link randomImage}. */
export interface RandomImageOptions {
  /** Number of random layers (ignored when `layerEntries` is given). Default 1. */
  layers?: number;
  /** Bytes of random (incompressible) file content per random layer. Default 1024. */
  layerSize?: number;
  /** Explicit layer contents, one entry list per layer, instead of random layers. */
  layerEntries?: LayerEntry[][];
  /** Layers as uncompressed tars made elsewhere (instead of `layerEntries`). */
  layerTars?: Buffer[];
  /** Default `'oci'`. */
  mediaTypes?: 'oci' | 'docker';
  /** Default `'gzip'`. */
  compression?: LayerCompressionKind;
  /** Digest algorithm of the layer descriptors. Default sha256. */
  layerAlgorithm?: DigestAlgorithm;
  /** Default linux/amd64. */
  platform?: Platform;
  labels?: Record<string, string>;
  env?: string[];
  entrypoint?: string[];
  cmd?: string[];
  user?: string;
  workingDir?: string;
  /** Config history; default one `created_by: "layer N"` entry per layer. */
  history?: HistoryEntry[];
  /** Manifest annotations. */
  annotations?: Record<string, string>;
  /** Config `created`; default 2024-01-01T00:00:00Z. */
  created?: string;
  /** Name the manifest in the layout's `index.json`. */
  refName?: string;
}

/** An image the fixtures wrote: every object and its bytes. */
export interface BuiltImage {
  manifest: ImageManifest;
  /** The exact manifest bytes (their sha256 is `descriptor.digest`). */
  manifestBytes: Buffer;
  /** Descriptor of the manifest (with `platform`), as an index lists it. */
  descriptor: Descriptor;
  config: ImageConfig;
  configBytes: Buffer;
  configDescriptor: Descriptor;
  layers: BuiltLayer[];
}

function randomLayerEntries(index: number, size: number): LayerEntry[] {
  return [
    { path: `layer${index}/`, type: 'dir' },
    { path: `layer${index}/random.bin`, content: randomBytes(size) },
    { path: `layer${index}/id.txt`, content: `layer ${index}\n` },
  ];
}

/**
 * Write a random image (layers, config, manifest) into `layout`, named `refName` when
 * given. Layer files are random, so every call yields new digests.
 *
 * @example
 * const img = await randomImage(w, { layers: 2, refName: 'v1', labels: { a: 'b' } });
 * await w.finish();
 */
export async function randomImage(
  layout: LayoutWriter,
  options: RandomImageOptions = {},
): Promise<BuiltImage> {
  const family = options.mediaTypes ?? 'oci';
  const types = FIXTURE_MEDIA_TYPES[family];
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const entryLists =
    options.layerEntries ??
    Array.from({ length: options.layers ?? 1 }, (_, i) =>
      randomLayerEntries(i, options.layerSize ?? 1024),
    );

  const layers: BuiltLayer[] = [];
  const layerOptions = {
    compression: options.compression ?? 'gzip',
    mediaTypes: family,
    algorithm: options.layerAlgorithm ?? 'sha256',
  } as const;
  const made = options.layerTars
    ? options.layerTars.map((tar) => () => layerOfTar(tar, layerOptions))
    : entryLists.map((entries) => () => makeLayer(entries, layerOptions));
  for (const make of made) {
    const layer = await make();
    await layout.writeBlob(layer.blob, options.layerAlgorithm ?? 'sha256');
    layers.push(layer);
  }

  const created = options.created ?? '2024-01-01T00:00:00Z';
  const runtime: NonNullable<ImageConfig['config']> = {};
  if (options.env) runtime.Env = options.env;
  if (options.entrypoint) runtime.Entrypoint = options.entrypoint;
  if (options.cmd) runtime.Cmd = options.cmd;
  if (options.labels) runtime.Labels = options.labels;
  if (options.user) runtime.User = options.user;
  if (options.workingDir) runtime.WorkingDir = options.workingDir;
  const config: ImageConfig = {
    created,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: runtime,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: options.history ?? layers.map((_, i) => ({ created, created_by: `layer ${i}` })),
  };
  const { bytes: configBytes, ...configDescriptor } = await layout.writeJson(config, types.config);

  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: configDescriptor,
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  if (options.annotations) manifest.annotations = options.annotations;
  const written = await layout.writeManifest(manifest as unknown as Record<string, unknown>, {
    platform,
  });
  if (options.refName !== undefined) {
    const { platform: _omit, ...topLevel } = written.descriptor;
    layout.addToIndex(topLevel, options.refName);
  }
  return {
    manifest,
    manifestBytes: written.bytes,
    descriptor: written.descriptor,
    config,
    configBytes,
    configDescriptor,
    layers,
  };
}

/** The platforms {@link multiPlatformIndex} builds by default. */
export const DEFAULT_PLATFORMS: Platform[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];

/** Options for {@link multiPlatformIndex}. */
export interface MultiPlatformIndexOptions {
  /** Default {@link DEFAULT_PLATFORMS}. */
  platforms?: Platform[];
  /**
   * Add a BuildKit-style attestation manifest per image (platform unknown/unknown,
   * annotations `vnd.docker.reference.type: attestation-manifest` and
   * `vnd.docker.reference.digest`). OCI media types only. Default false.
   */
  attestation?: boolean;
  /** `'docker'` builds a manifest list of schema2 manifests. Default `'oci'`. */
  mediaTypes?: 'oci' | 'docker';
  /** Layers per image. Default 1. */
  layers?: number;
  layerSize?: number;
  /** Index annotations. */
  annotations?: Record<string, string>;
  /** Name the index in the layout's `index.json`. */
  refName?: string;
}

/** An index the fixtures wrote. */
export interface BuiltIndex {
  index: ImageIndex;
  indexBytes: Buffer;
  descriptor: Descriptor;
  /** The platform images, in `platforms` order. */
  images: BuiltImage[];
  /** The attestation manifests (one per image), when asked for. */
  attestations: BuiltImage[];
}

async function attestationFor(layout: LayoutWriter, image: BuiltImage): Promise<BuiltImage> {
  const statement = {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: 'https://spdx.dev/Document',
    subject: [{ name: 'image', digest: { sha256: image.descriptor.digest.split(':')[1] } }],
    predicate: { spdxVersion: 'SPDX-2.3', name: 'ocipeek-fixture' },
  };
  const blob = jsonBytes(statement);
  const { digest, size } = await layout.writeBlob(blob);
  const config: ImageConfig = {
    architecture: 'unknown',
    os: 'unknown',
    config: {},
    rootfs: { type: 'layers', diff_ids: [digest] },
  };
  const { bytes: configBytes, ...configDescriptor } = await layout.writeJson(
    config,
    FIXTURE_MEDIA_TYPES.oci.config,
  );
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: FIXTURE_MEDIA_TYPES.oci.manifest,
    config: configDescriptor,
    layers: [
      {
        mediaType: 'application/vnd.in-toto+json',
        digest,
        size,
        annotations: { 'in-toto.io/predicate-type': 'https://spdx.dev/Document' },
      },
    ],
  };
  const written = await layout.writeManifest(manifest as unknown as Record<string, unknown>, {
    platform: { os: 'unknown', architecture: 'unknown' },
    annotations: {
      'vnd.docker.reference.digest': image.descriptor.digest,
      'vnd.docker.reference.type': 'attestation-manifest',
    },
  });
  const layer: BuiltLayer = {
    blob,
    tar: blob,
    digest,
    size,
    diffId: digest,
    mediaType: 'application/vnd.in-toto+json',
    entries: [],
  };
  return {
    manifest,
    manifestBytes: written.bytes,
    descriptor: written.descriptor,
    config,
    configBytes,
    configDescriptor,
    layers: [layer],
  };
}

/**
 * Write a multi-platform index (or Docker manifest list) of random images into `layout`.
 *
 * @example
 * const built = await multiPlatformIndex(w, { attestation: true, refName: 'multi' });
 * // built.index.manifests: amd64, arm64/v8, arm/v7, then 3 attestation entries
 */
export async function multiPlatformIndex(
  layout: LayoutWriter,
  options: MultiPlatformIndexOptions = {},
): Promise<BuiltIndex> {
  const family = options.mediaTypes ?? 'oci';
  if (family === 'docker' && options.attestation) {
    throw new Error('multiPlatformIndex: attestations need OCI media types');
  }
  const images: BuiltImage[] = [];
  for (const platform of options.platforms ?? DEFAULT_PLATFORMS) {
    images.push(
      await randomImage(layout, {
        mediaTypes: family,
        platform,
        layers: options.layers ?? 1,
        layerSize: options.layerSize ?? 512,
        labels: { 'org.example.platform': `${platform.os}/${platform.architecture}` },
      }),
    );
  }
  const attestations: BuiltImage[] = [];
  if (options.attestation) {
    for (const image of images) attestations.push(await attestationFor(layout, image));
  }
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: FIXTURE_MEDIA_TYPES[family].index,
    manifests: [...images, ...attestations].map((i) => i.descriptor),
  };
  if (options.annotations) index.annotations = options.annotations;
  const written = await layout.writeManifest(index as unknown as Record<string, unknown>);
  if (options.refName !== undefined) layout.addToIndex(written.descriptor, options.refName);
  return { index, indexBytes: written.bytes, descriptor: written.descriptor, images, attestations };
}
