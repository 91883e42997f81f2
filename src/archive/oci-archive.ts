import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { LayoutSource, OciLayout } from '../layout/index.js';
import type { Descriptor } from '../media/index.js';
import type {
  ImageDestination,
  ManifestBytes,
  PutBlobOptions,
  PutManifestOptions,
  SourceCallOptions,
} from '../source/index.js';
import { Store } from '../store/store.js';
import { StoreDestination } from '../store/store-destination.js';
import { type ExtractArchiveOptions, openExtracted } from './extract-archive.js';
import { packDirectory } from './pack-directory.js';
import { makeStagingDir } from './staging-dir.js';

/** Options of {@link openOciArchiveSource}. */
export interface OpenArchiveOptions extends Pick<ExtractArchiveOptions, 'maxBytes' | 'maxEntries'> {
  /** Folder for the extracted copy (default the system temp folder). */
  tmpDir?: string;
  signal?: AbortSignal;
}

/**
 * Open `oci-archive:FILE[:TAG]` (a tar of an OCI layout, optionally gzip-compressed) as a
 * image source. The archive is extracted safely into a temp folder first (random access is
 * needed and it may be compressed); `close()` removes it.
 */
export async function openOciArchiveSource(
  file: string,
  tag: string | undefined,
  options: OpenArchiveOptions = {},
): Promise<LayoutSource> {
  return openExtracted(file, 'ocipeek-oci-archive-', options, (dir, cleanup) =>
    ociArchiveFromDir(dir, file, tag, cleanup, options),
  );
}

/** {@link openOciArchiveSource} over an archive already extracted into `dir`. */
export async function ociArchiveFromDir(
  dir: string,
  file: string,
  tag: string | undefined,
  cleanup: () => Promise<void>,
  options: OpenArchiveOptions = {},
): Promise<LayoutSource> {
  const layout = await OciLayout.open(dir, options);
  const description = `oci-archive:${file}${tag ? `:${tag}` : ''}`;
  const source = new LayoutSource(layout, tag, {
    kind: 'oci-archive',
    description,
    onClose: cleanup,
  });
  await source.rootEntry(options); // fail early, and learn the recorded image name
  return source;
}

/**
 * `oci-archive:FILE[:TAG]` as a destination: the image is written into a staging layout
 * next to `FILE` (through the store's writer), which becomes the archive on `commit`;
 * the file appears only when complete.
 */
export class OciArchiveDestination implements ImageDestination {
  readonly description: string;

  private constructor(
    private readonly file: string | Writable,
    private readonly staging: string,
    private readonly inner: StoreDestination,
  ) {
    this.description = inner.description;
  }

  /**
   * Prepare a destination writing `file` (a path, or a stream such as stdout), naming the
   * image `tag` in `index.json` and keeping `imageName` (the full reference) in
   * `io.containerd.image.name`. The layout is gathered in a staging folder under
   * `options.tmpDir` (default the system temp folder) named with this process's pid, so
   * the store's `prune` removes it when that is the store's temp folder and we are killed.
   */
  static async create(
    file: string | Writable,
    tag: string | undefined,
    options: { imageName?: string; tmpDir?: string; signal?: AbortSignal } = {},
  ): Promise<OciArchiveDestination> {
    const staging = await makeStagingDir(options.tmpDir, 'oci-archive');
    const target = typeof file === 'string' ? resolve(file) : file;
    try {
      const store = await Store.open(staging, { signal: options.signal });
      const description = `oci-archive:${typeof file === 'string' ? file : '-'}${tag ? `:${tag}` : ''}`;
      const inner = new StoreDestination(
        store,
        { kind: 'tag', tag, imageName: options.imageName },
        description,
      );
      return new OciArchiveDestination(target, staging, inner);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  hasBlob(desc: Descriptor): Promise<boolean> {
    return this.inner.hasBlob(desc);
  }

  putBlob(desc: Descriptor, stream: Readable, options: PutBlobOptions): Promise<void> {
    return this.inner.putBlob(desc, stream, options);
  }

  putManifest(manifest: ManifestBytes, options: PutManifestOptions): Promise<void> {
    return this.inner.putManifest(manifest, options);
  }

  async commit(root: ManifestBytes, options: SourceCallOptions = {}): Promise<string> {
    try {
      const digest = await this.inner.commit(root, options);
      await packDirectory(this.staging, this.file, { exclude: ['.ocipeek'], ...options });
      return digest;
    } finally {
      await rm(this.staging, { recursive: true, force: true });
    }
  }

  async abort(): Promise<void> {
    await rm(this.staging, { recursive: true, force: true });
  }
}
