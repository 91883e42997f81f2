import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { createDigester } from '../digest/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { Descriptor, ImageManifest } from '../media/index.js';
import type { ImageDestination, ManifestBytes } from '../source/index.js';
import {
  buildArtifactManifest,
  CREATED_ANNOTATION,
  EMPTY_DESCRIPTOR,
  EMPTY_JSON,
  TITLE_ANNOTATION,
} from './artifact-manifest.js';

/** The media type of a file blob when none is given (as regctl artifact put). */
export const DEFAULT_FILE_MEDIA_TYPE = 'application/octet-stream';

/** One file of an artifact. */
export interface ArtifactFile {
  /** The file to upload (a regular file). */
  path: string;
  /** Its layer media type; default {@link DEFAULT_FILE_MEDIA_TYPE}. */
  mediaType?: string;
  /** Its `org.opencontainers.image.title`; default the file's base name. */
  title?: string;
}

/** Options of {@link pushArtifact}. */
export interface PushArtifactOptions {
  /** The manifest's `artifactType`, e.g. `application/vnd.example.sbom+json`. */
  artifactType: string;
  /** The manifest the artifact refers to (its referrers list it). */
  subject?: Descriptor;
  /** Manifest annotations; `org.opencontainers.image.created` is set to now unless given. */
  annotations?: Record<string, string>;
  signal?: AbortSignal;
}

/** What {@link pushArtifact} wrote. */
export interface PushedArtifact {
  /** The manifest's digest as the destination holds it. */
  digest: string;
  manifest: ImageManifest;
  /** The manifest's exact bytes. */
  bytes: Buffer;
  /** The descriptor a referrers list gives it. */
  descriptor: Descriptor;
}

/**
 * Push files as an OCI 1.1 artifact (oras push, regctl artifact put) to any destination
 * (`openDestination`: a registry, `oci:DIR`, the store): each file becomes a layer titled
 * with its name, the config is the empty blob, and the manifest carries `artifactType`
 * and, for referrers, `subject`. Files are hashed first and uploaded second; one that
 * changes in between fails its upload's digest check. Commits the destination on
 * success, aborts it on failure.
 */
export async function pushArtifact(
  destination: ImageDestination,
  files: ArtifactFile[],
  options: PushArtifactOptions,
): Promise<PushedArtifact> {
  const { signal } = options;
  try {
    const layers: Descriptor[] = [];
    const titles = new Set<string>();
    for (const file of files) {
      const layer = await describeFile(file, signal);
      const title = layer.annotations![TITLE_ANNOTATION]!;
      if (titles.has(title)) throw new InvalidArgumentError(`two files are named ${title}`);
      titles.add(title);
      layers.push(layer);
    }
    const annotations = {
      [CREATED_ANNOTATION]: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      ...options.annotations,
    };
    const built = buildArtifactManifest({
      artifactType: options.artifactType,
      layers,
      subject: options.subject,
      annotations,
    });
    const root = { bytes: built.bytes, mediaType: built.manifest.mediaType!, digest: built.digest };
    const blobs = layers.map((descriptor, i) => ({
      descriptor,
      open: () => createReadStream(files[i]!.path, { highWaterMark: 1 << 20 }),
    }));
    const digest = await writeArtifact(destination, root, blobs, { signal });
    const descriptor: Descriptor = {
      mediaType: root.mediaType,
      digest,
      size: built.bytes.length,
      artifactType: options.artifactType,
      annotations,
    };
    return { digest, manifest: built.manifest, bytes: built.bytes, descriptor };
  } catch (err) {
    await destination.abort().catch(() => {});
    throw err;
  }
}

/** One blob of an artifact and how to read it (opened only when the destination lacks it). */
export interface ArtifactBlob {
  descriptor: Descriptor;
  open(): Readable;
}

/**
 * Write an artifact whose manifest is built: the empty config, each blob the destination
 * does not hold yet, the manifest as the root, then commit. Resolves to the manifest
 * digest as the destination holds it. The caller aborts the destination on failure.
 */
export async function writeArtifact(
  destination: ImageDestination,
  root: ManifestBytes,
  blobs: ArtifactBlob[],
  options: { signal?: AbortSignal } = {},
): Promise<string> {
  const { signal } = options;
  if (!(await destination.hasBlob(EMPTY_DESCRIPTOR, { signal }))) {
    await destination.putBlob(EMPTY_DESCRIPTOR, Readable.from([EMPTY_JSON]), {
      role: 'config',
      signal,
    });
  }
  for (const blob of blobs) {
    if (await destination.hasBlob(blob.descriptor, { signal })) continue;
    await destination.putBlob(blob.descriptor, blob.open(), { role: 'layer', signal });
  }
  await destination.putManifest(root, { root: true, signal });
  return destination.commit(root, { signal });
}

/** A file's layer descriptor: digest and size from one read, its title from its name. */
async function describeFile(file: ArtifactFile, signal?: AbortSignal): Promise<Descriptor> {
  const info = await stat(file.path).catch((err: NodeJS.ErrnoException) => {
    throw new InvalidArgumentError(`cannot read ${file.path}: ${err.code ?? err.message}`);
  });
  if (!info.isFile()) {
    throw new InvalidArgumentError(
      `${file.path} is not a regular file (pack a folder as a tar first)`,
    );
  }
  const hash = createDigester('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file.path, { highWaterMark: 1 << 20, signal })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return {
    mediaType: file.mediaType ?? DEFAULT_FILE_MEDIA_TYPE,
    digest: `sha256:${hash.digest('hex')}`,
    size,
    annotations: { [TITLE_ANNOTATION]: file.title ?? basename(file.path) },
  };
}
