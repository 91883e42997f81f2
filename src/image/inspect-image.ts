import type { Descriptor, HistoryEntry, Platform } from '../media/index.js';
import { formatPlatform, isAttestationEntry } from '../platform/index.js';
import {
  type ImageSource,
  type ResolveImageOptions,
  resolveImage,
  sourceName,
} from '../source/index.js';

/** A layer as `inspect` reports it. */
export interface LayerSummary {
  digest: string;
  size: number;
  mediaType: string;
  annotations?: Record<string, string>;
}

/** One platform entry of an index. */
export interface PlatformEntry {
  platform: string;
  digest: string;
  mediaType: string;
  size: number;
  /** True for attestation (`unknown/unknown`) entries, which are never chosen. */
  attestation: boolean;
}

/** Everything `ocipeek inspect` shows, as data. */
export interface ImageInspection {
  /**
   * The full reference (`registry/repository[:tag][@digest]`) of a registry or store
   * image, else the place as given (`oci:/tmp/x:v1`).
   */
  name: string;
  /** The digest the reference resolves to (the index's when it is one). */
  digest: string;
  /** Media type of the top-level manifest. */
  mediaType: string;
  /** Digest of the chosen platform's image manifest. */
  manifestDigest: string;
  /** Media type of the chosen image manifest. */
  manifestMediaType: string;
  /** `os/arch[/variant]` of the chosen image. */
  platform: string | null;
  created: string | null;
  author: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  env: string[];
  entrypoint: string[] | null;
  cmd: string[] | null;
  workingDir: string | null;
  user: string | null;
  exposedPorts: string[];
  /** The config descriptor. */
  config: Descriptor;
  layers: LayerSummary[];
  /** Sum of the compressed layer sizes. */
  size: number;
  history: HistoryEntry[];
  /** The entries of the index, when the reference is one. */
  platforms?: PlatformEntry[];
}

/** Resolve what `source` names and gather what `inspect` reports about it. */
export async function inspectImage(
  source: ImageSource,
  options: Omit<ResolveImageOptions, 'config'> = {},
): Promise<ImageInspection> {
  const img = await resolveImage(source, options);
  const manifest = img.image.manifest;
  const config = img.config;
  const cc = config?.config ?? {};
  const layers = manifest.layers.map((l) => {
    const s: LayerSummary = { digest: l.digest, size: l.size, mediaType: l.mediaType };
    if (l.annotations) s.annotations = l.annotations;
    return s;
  });
  const result: ImageInspection = {
    name: sourceName(source),
    digest: img.digest,
    mediaType: img.top.mediaType,
    manifestDigest: img.image.digest,
    manifestMediaType: img.image.mediaType,
    platform: img.platform ? formatPlatform(img.platform as Platform) : null,
    created: config?.created ?? null,
    author: config?.author ?? null,
    labels: cc.Labels ?? {},
    annotations: { ...(img.index?.annotations ?? {}), ...(manifest.annotations ?? {}) },
    env: cc.Env ?? [],
    entrypoint: cc.Entrypoint ?? null,
    cmd: cc.Cmd ?? null,
    workingDir: cc.WorkingDir || null,
    user: cc.User || null,
    exposedPorts: Object.keys(cc.ExposedPorts ?? {}),
    config: manifest.config,
    layers,
    size: layers.reduce((sum, l) => sum + l.size, 0),
    history: config?.history ?? [],
  };
  if (img.index) {
    result.platforms = img.index.manifests.map((d) => ({
      platform: d.platform ? formatPlatform(d.platform) : 'unknown',
      digest: d.digest,
      mediaType: d.mediaType,
      size: d.size,
      attestation: isAttestationEntry(d),
    }));
  }
  return result;
}
