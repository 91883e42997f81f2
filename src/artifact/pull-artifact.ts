import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError } from '../errors/index.js';
import { type Descriptor, isIndex, parseManifest } from '../media/index.js';
import type { ImageSource } from '../source/index.js';
import { openTargetWriteStream } from '../store/target-write-stream.js';
import { TITLE_ANNOTATION } from './artifact-manifest.js';
import { isFolderLayer, unpackFolder } from './folder-layer.js';

/** Options of {@link pullArtifact}. */
export interface PullArtifactOptions {
  /** Replace files that exist in the folder (default: refuse before writing anything). */
  overwrite?: boolean;
  signal?: AbortSignal;
}

/** What {@link pullArtifact} did. */
export interface PulledArtifact {
  /** The manifest's digest. */
  digest: string;
  artifactType?: string;
  /** Files written, by title (`folder`: a packed folder, unpacked as a folder of that name). */
  files: Array<{ name: string; digest: string; size: number; folder?: boolean }>;
  /** Layers without a title, not written (as oras pull skips them). */
  skipped: Descriptor[];
}

/**
 * Write the files of the artifact `source` names into `dir` (oras pull): each layer with an
 * `org.opencontainers.image.title` becomes the file of that name, verified against its
 * digest while it streams into a temp file beside it, renamed into place once complete.
 * A title must be a plain file name (no `/`, not `.` or `..`): an artifact cannot write
 * outside `dir`. A layer oras marked as a packed folder is unpacked as the folder of its
 * title (`unpackFolder`: confined, checked, renamed into place when whole). Existing
 * files and folders are refused before anything is written, unless `overwrite`.
 */
export async function pullArtifact(
  source: ImageSource,
  dir: string,
  options: PullArtifactOptions = {},
): Promise<PulledArtifact> {
  const { signal } = options;
  const root = await source.root({ signal });
  const manifest = parseManifest(root.bytes, root.mediaType);
  if (isIndex(manifest)) {
    throw new InvalidArgumentError(
      `${source.description} is an index: name one of its manifests by digest`,
    );
  }
  const result: PulledArtifact = {
    digest: root.digest,
    artifactType: manifest.artifactType ?? manifest.config.mediaType,
    files: [],
    skipped: [],
  };
  const named: Array<{ name: string; layer: Descriptor }> = [];
  const names = new Set<string>();
  for (const layer of manifest.layers) {
    const name = layer.annotations?.[TITLE_ANNOTATION];
    if (name === undefined) {
      result.skipped.push(layer);
      continue;
    }
    if (name === '' || name === '.' || name === '..' || /[/\0]/.test(name)) {
      throw new InvalidArgumentError(`layer ${layer.digest} is titled "${name}", not a file name`);
    }
    if (names.has(name)) throw new InvalidArgumentError(`two layers are titled ${name}`);
    names.add(name);
    named.push({ name, layer });
  }
  await mkdir(dir, { recursive: true });
  if (!options.overwrite) {
    for (const { name } of named) {
      if (
        await lstat(join(dir, name)).then(
          () => true,
          () => false,
        )
      ) {
        throw new InvalidArgumentError(`${join(dir, name)} exists (--overwrite replaces it)`);
      }
    }
  }
  for (const { name, layer } of named) {
    if (isFolderLayer(layer)) {
      await unpackFolder(source, layer, dir, name, { replace: options.overwrite, signal });
      result.files.push({ name, digest: layer.digest, size: layer.size, folder: true });
      continue;
    }
    const target = join(dir, name);
    const temp = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      // Written as every blob is (store/target-write-stream.ts); the file first, so a
      // refused path never leaves an opened blob behind.
      const sink = await openTargetWriteStream(temp, { flags: 'wx' });
      let blob: Awaited<ReturnType<ImageSource['openBlob']>>;
      try {
        blob = await source.openBlob(layer, { signal });
      } catch (err) {
        sink.destroy();
        throw err;
      }
      await pipeline(blob, sink, { signal });
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    result.files.push({ name, digest: layer.digest, size: layer.size });
  }
  return result;
}
