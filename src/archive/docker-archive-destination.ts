import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompressStream } from '../compression/index.js';
import { createDigester, parseDigest } from '../digest/index.js';
import { DigestMismatchError, InvalidManifestError, UnsupportedError } from '../errors/index.js';
import { type Descriptor, isIndex, parseImageConfig, parseManifest } from '../media/index.js';
import { parseReference } from '../ref/index.js';
import type {
  ImageDestination,
  ManifestBytes,
  PutBlobOptions,
  PutManifestOptions,
  SourceCallOptions,
} from '../source/index.js';
import { openTargetWriteStream } from '../store/target-write-stream.js';
import type { DockerArchiveEntry } from './docker-archive-source.js';
import { packDirectory } from './pack-directory.js';
import { makeStagingDir } from './staging-dir.js';

/** `docker.io/library/alpine:3` → `alpine:3`, as `docker save` writes RepoTags. */
export function familiarTag(ref: string): string | undefined {
  const r = parseReference(ref, { defaultTag: null });
  if (!r.tag) return undefined;
  let name = r.name;
  if (name.startsWith('docker.io/library/')) name = name.slice('docker.io/library/'.length);
  else if (name.startsWith('docker.io/')) name = name.slice('docker.io/'.length);
  return `${name}:${r.tag}`;
}

/**
 * `docker-archive:FILE[:REF]` as a destination, written in the legacy `docker save`
 * layout that skopeo and `docker load` read: `manifest.json` (`Config`, `RepoTags`,
 * `Layers`), `repositories`, the config as `<hex>.json`, each layer uncompressed as
 * `<diffid-hex>/layer.tar` (with `VERSION` and `json`).
 *
 * This converts: layers are decompressed (their digests become the config's diff IDs)
 * and there is no registry manifest in the archive, so a copy back to a registry gets new
 * manifest and layer digests; the config, and so the image ID, is kept byte for byte.
 */
export class DockerArchiveDestination implements ImageDestination {
  readonly description: string;
  readonly singleImage = true;
  readonly convertsManifests = true;
  /** Blob digest → uncompressed digest and temp file of each layer written. */
  private readonly layers = new Map<string, { diffId: string; path: string }>();
  private configDigest?: string;
  /**
   * Whose write target the staged files follow: the folder above the per-run staging
   * folder (`tmpDir`), which lasts (one `statfs` answer per folder and process).
   */
  private readonly writeFolder: string;

  private constructor(
    private readonly file: string | Writable,
    private readonly staging: string,
    private readonly repoTags: string[],
    description: string,
  ) {
    this.description = description;
    this.writeFolder = dirname(staging);
  }

  /**
   * Prepare a destination writing `file` (a path, or a stream such as stdout), tagging
   * the image `repoTags` (any form). The image is gathered in a staging folder under
   * `options.tmpDir` (default the system temp folder) named with this process's pid, so
   * the store's `prune` removes it when that is the store's temp folder and we are killed.
   */
  static async create(
    file: string | Writable,
    repoTags: string[],
    options: { tmpDir?: string } = {},
  ): Promise<DockerArchiveDestination> {
    const staging = await makeStagingDir(options.tmpDir, 'docker-archive');
    const tags = repoTags.map(familiarTag).filter((t): t is string => t !== undefined);
    const name = typeof file === 'string' ? file : '-';
    const description = `docker-archive:${name}${repoTags[0] ? `:${repoTags[0]}` : ''}`;
    return new DockerArchiveDestination(
      typeof file === 'string' ? resolve(file) : file,
      staging,
      tags,
      description,
    );
  }

  async hasBlob(): Promise<boolean> {
    return false; // a fresh archive every time
  }

  async putBlob(desc: Descriptor, stream: Readable, options: PutBlobOptions): Promise<void> {
    const { hex } = parseDigest(desc.digest);
    if (options.role === 'config') {
      const sink = await openTargetWriteStream(join(this.staging, `${hex}.json`), {
        folder: this.writeFolder,
      }).catch((err: Error) => {
        stream.destroy(); // as a pipeline into a failed sink would have
        throw err;
      });
      await pipeline(stream, sink, { signal: options.signal });
      this.configDigest = desc.digest;
      return;
    }
    await mkdir(join(this.staging, 'tmp'), { recursive: true });
    const path = join(this.staging, 'tmp', `${hex}.tar`);
    const hash = createDigester('sha256');
    let seen = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const counted = new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        options.onProgress?.(seen);
        done(null, chunk);
      },
    });
    stream.on('error', (err) => counted.destroy(err));
    const tar = await decompressStream(stream.pipe(counted), {
      mediaType: desc.mediaType,
      signal: options.signal,
    });
    const sink = await openTargetWriteStream(path, { folder: this.writeFolder }).catch(
      (err: Error) => {
        tar.destroy();
        stream.destroy();
        throw err;
      },
    );
    await pipeline(tar, tap, sink, { signal: options.signal });
    this.layers.set(desc.digest, { diffId: `sha256:${hash.digest('hex')}`, path });
  }

  async putManifest(manifest: ManifestBytes, options: PutManifestOptions): Promise<void> {
    const parsed = parseManifest(manifest.bytes, manifest.mediaType);
    if (isIndex(parsed)) {
      throw new UnsupportedError(`${this.description} cannot hold an image index`);
    }
    if (!options.root) return;
    const configHex = parseDigest(parsed.config.digest).hex;
    const configName = `${configHex}.json`;
    const config = parseImageConfig(await readFile(join(this.staging, configName)));
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== parsed.layers.length) {
      throw new InvalidManifestError(
        `config ${parsed.config.digest} lists ${diffIds.length} layers, the manifest ${parsed.layers.length}`,
      );
    }
    const layerPaths: string[] = [];
    let parent: string | undefined;
    for (const [i, layer] of parsed.layers.entries()) {
      const written = this.layers.get(layer.digest);
      if (!written) throw new InvalidManifestError(`layer ${layer.digest} was not copied`);
      if (written.diffId !== diffIds[i]) {
        throw new DigestMismatchError(
          diffIds[i] as string,
          written.diffId,
          `uncompressed layer ${layer.digest}`,
        );
      }
      const id = parseDigest(written.diffId).hex;
      const dir = join(this.staging, id);
      if (!(await stat(dir).catch(() => undefined))) {
        await mkdir(dir);
        await rename(written.path, join(dir, 'layer.tar'));
        await writeFile(join(dir, 'VERSION'), '1.0');
        await writeFile(join(dir, 'json'), JSON.stringify(parent ? { id, parent } : { id }));
      }
      layerPaths.push(`${id}/layer.tar`);
      parent = id;
    }
    const entry: DockerArchiveEntry = {
      Config: configName,
      RepoTags: this.repoTags,
      Layers: layerPaths,
    };
    await writeFile(join(this.staging, 'manifest.json'), JSON.stringify([entry]));
    const repositories: Record<string, Record<string, string>> = {};
    for (const tag of this.repoTags) {
      const colon = tag.lastIndexOf(':');
      repositories[tag.slice(0, colon)] ??= {};
      (repositories[tag.slice(0, colon)] as Record<string, string>)[tag.slice(colon + 1)] =
        parent ?? '';
    }
    if (this.repoTags.length > 0 && parent) {
      await writeFile(join(this.staging, 'repositories'), JSON.stringify(repositories));
    }
  }

  /** Write the archive; resolves to the config digest (the image ID docker shows). */
  async commit(_root: ManifestBytes, options: SourceCallOptions = {}): Promise<string> {
    try {
      await rm(join(this.staging, 'tmp'), { recursive: true, force: true });
      await packDirectory(this.staging, this.file, options);
      return this.configDigest ?? '';
    } finally {
      await rm(this.staging, { recursive: true, force: true });
    }
  }

  async abort(): Promise<void> {
    await rm(this.staging, { recursive: true, force: true });
  }
}
