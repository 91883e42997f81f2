import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createDigester } from '../digest/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { Descriptor, ImageManifest } from '../media/index.js';
import { commitRoot, writeOrAbort } from '../source/destination-writes.js';
import type { ImageDestination, ManifestBytes } from '../source/index.js';
import { tempName } from '../store/atomic-file.js';
import {
  buildArtifactManifest,
  CREATED_ANNOTATION,
  EMPTY_DESCRIPTOR,
  EMPTY_JSON,
  TITLE_ANNOTATION,
} from './artifact-manifest.js';
import { packFolder } from './folder-layer.js';

/** The media type of a file blob when none is given (as regctl artifact put). */
export const DEFAULT_FILE_MEDIA_TYPE = 'application/octet-stream';

/** One file of an artifact. */
export interface ArtifactFile {
  /** The file to upload (a regular file), or a folder (packed as oras packs one). */
  path: string;
  /** Its layer media type; default {@link DEFAULT_FILE_MEDIA_TYPE} (a folder's: OCI tar+gzip). */
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
  /** Where packed folders wait until pushed (default the system temp folder). */
  tmpDir?: string;
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
 * and, for referrers, `subject`. A folder becomes a gzip tar layer marked for unpacking,
 * as oras pushes one (`packFolder`). Files are hashed first and uploaded second; one that
 * changes in between fails its upload's digest check. Commits the destination on
 * success, aborts it on failure.
 */
export async function pushArtifact(
  destination: ImageDestination,
  files: ArtifactFile[],
  options: PushArtifactOptions,
): Promise<PushedArtifact> {
  // Named with the pid, so the store's prune removes what a killed run leaves there.
  const packed = tempName(options.tmpDir ?? tmpdir(), 'artifact');
  try {
    return await pushFiles(destination, files, options, packed);
  } finally {
    await rm(packed, { recursive: true, force: true });
  }
}

async function pushFiles(
  destination: ImageDestination,
  files: ArtifactFile[],
  options: PushArtifactOptions,
  packed: string,
): Promise<PushedArtifact> {
  const { signal } = options;
  return writeOrAbort(destination, async () => {
    const layers: Descriptor[] = [];
    const paths: string[] = [];
    const titles = new Set<string>();
    for (const file of files) {
      const { layer, path } = await describeFile(file, packed, signal);
      paths.push(path);
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
      open: () => createReadStream(paths[i]!, { highWaterMark: 1 << 20 }),
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
  });
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
  return commitRoot(destination, root, signal);
}

/**
 * A file's layer descriptor (digest and size from one read, its title from its name) and
 * the path its bytes are read from: the file, or for a folder its packed tar in `packed`.
 */
async function describeFile(
  file: ArtifactFile,
  packed: string,
  signal?: AbortSignal,
): Promise<{ layer: Descriptor; path: string }> {
  const info = await stat(file.path).catch((err: NodeJS.ErrnoException) => {
    throw new InvalidArgumentError(`cannot read ${file.path}: ${err.code ?? err.message}`);
  });
  const title = file.title ?? basename(resolve(file.path));
  if (info.isDirectory()) {
    await mkdir(packed, { recursive: true });
    const path = join(packed, `${title}.tar.gz`);
    const layer = await packFolder(file.path, title, path, { mediaType: file.mediaType, signal });
    return { layer, path };
  }
  if (!info.isFile()) {
    throw new InvalidArgumentError(`${file.path} is neither a regular file nor a folder`);
  }
  const hash = createDigester('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file.path, { highWaterMark: 1 << 20, signal })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const layer: Descriptor = {
    mediaType: file.mediaType ?? DEFAULT_FILE_MEDIA_TYPE,
    digest: `sha256:${hash.digest('hex')}`,
    size,
    annotations: { [TITLE_ANNOTATION]: title },
  };
  return { layer, path: file.path };
}
