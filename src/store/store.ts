import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { digestOf, parseDigest } from '../digest/index.js';
import {
  DigestMismatchError,
  InvalidArgumentError,
  InvalidManifestError,
  NotFoundError,
  StoreError,
  UnsupportedError,
} from '../errors/index.js';
import {
  type LayoutRef,
  OciLayout,
  type OpenBlobOptions,
  REF_NAME_ANNOTATION,
  type ReadBlobOptions,
} from '../layout/index.js';
import { type Descriptor, type ImageIndex, MediaType } from '../media/index.js';
import { parseReference, type Reference } from '../ref/index.js';
import { createFilesIfAbsent, replaceFile } from './atomic-file.js';
import {
  type AdoptBlobOptions,
  adoptBlobFile,
  type BlobSource,
  type WriteBlobOptions,
  type WriteBlobResult,
  writeBlobFile,
} from './blob-writer.js';
import { FileLock } from './file-lock.js';
import { errnoCode, storeFsError } from './fs-errors.js';
import { type ListImagesOptions, listImages, type StoredImage } from './list-images.js';
import { StorePin } from './pins.js';
import { type PruneOptions, type PruneResult, pruneStore } from './prune.js';
import { nameOf, orphanSignatureNames } from './signature-names.js';
import { defaultStorePath } from './store-path.js';
import { type StoreProblem, type ValidateOptions, validateStore } from './validate.js';

/** The `.ocipeek/version` this code writes; a store marked higher is refused untouched. */
export const STORE_FORMAT_VERSION = 1;
/** The only `imageLayoutVersion` the store writes and accepts. */
export const LAYOUT_VERSION = '1.0.0';

/**
 * What a store being created holds before `oci-layout` appears (written last): a folder
 * with only these is a store another process is creating right now, not a foreign one.
 */
const STORE_ENTRIES = new Set(['.ocipeek', 'blobs', 'index.json']);

/** Options of {@link Store.open}. */
export interface OpenStoreOptions {
  /** Create the store (folder, `oci-layout`, `index.json`) when missing. Default true. */
  create?: boolean;
  /** The environment for the default location (see `defaultStorePath`). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** Options of {@link Store.tag}. */
export interface TagOptions {
  signal?: AbortSignal;
  /**
   * Digests that must be in the store when the tag is written (checked under the index
   * lock, which `prune` also holds): a concurrent prune cannot leave a tag whose content
   * it just deleted. Missing ones fail the call with a `StoreError`.
   */
  require?: Array<Pick<Descriptor, 'digest' | 'size'>>;
}

/**
 * ocipeek's local store: a content-addressable OCI image layout (`oci-layout`,
 * `index.json`, `blobs/ALG/HEX`) that skopeo (`oci:DIR:REF`) and umoci read as is.
 * Images are named in `index.json` by `org.opencontainers.image.ref.name` holding the full
 * reference (`127.0.0.1:5000/app:1.0`), each name once.
 *
 * Several processes may use one store at once: `index.json` changes happen under a lock
 * file as read-modify-write plus atomic rename; blob writes lock only their own blob.
 * Temp files, locks, pins and the listing cache live under `.ocipeek/` (`tmp/`, `locks/`,
 * `pins/`, `fs-index/`) and nowhere else.
 */
export class Store {
  /** Read access to the layout (shared with other layout readers). */
  readonly layout: OciLayout;
  /** Temp files: `.partial` downloads and files about to be renamed into place. */
  readonly tmpDir: string;
  /** Lock files: `index.lock` and `blob-ALG-HEX.lock`. */
  readonly locksDir: string;
  /** Pin records of running operations (see {@link Store.pin}); made on first use. */
  readonly pinsDir: string;
  /** The per-layer listing cache (`LayerIndexCache`), bounded; `prune` trims it. */
  readonly fsIndexDir: string;
  /** Records of other components (the registry server) that `prune` keeps as roots. */
  readonly rootsDir: string;

  private constructor(layout: OciLayout) {
    this.layout = layout;
    this.tmpDir = join(layout.dir, '.ocipeek', 'tmp');
    this.locksDir = join(layout.dir, '.ocipeek', 'locks');
    this.pinsDir = join(layout.dir, '.ocipeek', 'pins');
    this.fsIndexDir = join(layout.dir, '.ocipeek', 'fs-index');
    this.rootsDir = join(layout.dir, '.ocipeek', 'roots');
  }

  /** The store folder (absolute). */
  get dir(): string {
    return this.layout.dir;
  }

  /**
   * Open the store at `dir` (default: `defaultStorePath()`), creating it unless
   * `create: false`. A store written by a newer version (another `imageLayoutVersion`, or
   * a higher `.ocipeek/version`) is refused with an `UnsupportedError` before anything is
   * written; a non-empty folder that is not an OCI layout is refused too.
   */
  static async open(dir?: string, options: OpenStoreOptions = {}): Promise<Store> {
    const root = defaultStorePath({ explicit: dir, env: options.env });
    const create = options.create ?? true;
    const entries = await readdir(root).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return undefined;
      if (errnoCode(err) === 'ENOTDIR') {
        throw new StoreError(
          `the store ${root} is a file, not a folder (ENOTDIR): name a folder (--store, $OCIPEEK_STORE)`,
          root,
          'ENOTDIR',
          { cause: err },
        );
      }
      throw storeFsError(err, root, 'read store');
    });
    if (!entries && !create) throw new NotFoundError(`no store at ${root}`);
    const hasLayout = entries?.includes('oci-layout') ?? false;
    // Checked together: each file-system call is a round trip to the thread pool, and
    // opening the store is on the path of every command.
    const complete = hasLayout
      ? (await Promise.all([checkVersions(root), isComplete(root)]))[1]
      : false;
    if (!hasLayout && entries?.some((e) => !STORE_ENTRIES.has(e))) {
      throw new InvalidArgumentError(
        `${root} is not an OCI image layout (no oci-layout file) and is not empty; refusing to use it as a store`,
      );
    }
    if (!hasLayout && !create) throw new NotFoundError(`no store at ${root}`);
    if (complete) {
      // Nothing to create: a read-only store (a shared mount) stays readable.
      return new Store(await OciLayout.open(root, { signal: options.signal }));
    }
    const tmpDir = join(root, '.ocipeek', 'tmp');
    try {
      // Together: each is a round trip to the thread pool (recursive mkdir tolerates the
      // shared parents appearing meanwhile). `pins` too, so a new store's first pull does
      // not find it missing (StorePin makes it in stores made before it was made here).
      const dirs = ['tmp', 'locks', 'pins'].map((d) => join(root, '.ocipeek', d));
      await Promise.all(
        [...dirs, join(root, 'blobs', 'sha256')].map((d) => mkdir(d, { recursive: true })),
      );
    } catch (err) {
      throw storeFsError(err, root, 'create store');
    }
    const empty: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    const marker = JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION });
    // Linked in this order, the marker first and index.json before oci-layout: a crash
    // half-way leaves a folder that the next open completes, never a layout without its
    // index.
    const created = await createFilesIfAbsent(
      [
        { path: join(root, '.ocipeek', 'version'), data: text(`${STORE_FORMAT_VERSION}\n`) },
        { path: join(root, 'index.json'), data: text(JSON.stringify(empty)) },
        { path: join(root, 'oci-layout'), data: text(marker) },
      ],
      { tmpDir },
    );
    const opening = OciLayout.open(root, { signal: options.signal });
    opening.catch(() => {}); // a refused version is reported first
    // Another process may have created the store first: its versions are checked. When this
    // call linked all three files, the versions are the ones written above, and reading
    // them back (two files one after the other, ~8 thread-pool round trips on the path of
    // every pull into a new store) would check nothing.
    if (!hasLayout && !created.every(Boolean)) await checkVersions(root);
    return new Store(await opening);
  }

  /** The named entries of `index.json`. */
  refs(options: { signal?: AbortSignal } = {}): Promise<LayoutRef[]> {
    return this.layout.refs(options);
  }

  /**
   * The descriptor stored under `ref`: the exact normalised reference
   * (`alpine` → `docker.io/library/alpine:latest`); a string that is not a reference is
   * looked up as a layout ref name as is.
   */
  async resolve(
    ref: Reference | string,
    options: { signal?: AbortSignal } = {},
  ): Promise<Descriptor | undefined> {
    const name = refName(ref);
    const refs = await this.layout.refs(options);
    return refs.find((r) => r.name === name)?.descriptor;
  }

  /** Every stored image with its digest, platforms, size and creation time. */
  listImages(options: ListImagesOptions = {}): Promise<StoredImage[]> {
    return listImages(this, options);
  }

  /** The file of blob `digest` (validated, inside `blobs/`). */
  blobPath(digest: string): string {
    return this.layout.blobPath(digest);
  }

  /** The size of blob `digest`, or `undefined` when the store lacks it. */
  hasBlob(digest: string): Promise<number | undefined> {
    return this.layout.hasBlob(digest);
  }

  /** Stream a blob (verified unless a range or `verify: false` is asked). */
  openBlob(digest: string, options?: OpenBlobOptions): Readable {
    return this.layout.openBlob(digest, options);
  }

  /** Read a small blob whole, verified. */
  readBlob(digest: string, options?: ReadBlobOptions): Promise<Buffer> {
    return this.layout.readBlob(digest, options);
  }

  /**
   * Store a blob from `source`, verified against `descriptor` before it becomes visible;
   * a no-op when present. See `writeBlobFile` for locking, resume and crash safety.
   */
  writeBlob(
    descriptor: Pick<Descriptor, 'digest' | 'size'>,
    source: BlobSource,
    options?: WriteBlobOptions,
  ): Promise<WriteBlobResult> {
    return writeBlobFile(this, descriptor, source, options);
  }

  /**
   * Make the file at `path` (a finished upload inside the store's file system) blob
   * `descriptor`, by rename, checked first (see `adoptBlobFile`). False when the blob
   * was already stored (the file is then removed).
   */
  adoptBlob(
    descriptor: Pick<Descriptor, 'digest' | 'size'>,
    path: string,
    options?: AdoptBlobOptions,
  ): Promise<boolean> {
    return adoptBlobFile(this, descriptor, path, options);
  }

  /**
   * Store manifest (or config) bytes as a blob. Checked against `descriptor.digest`
   * when given; returns the descriptor with the digest and size of the bytes.
   */
  async putManifest(
    bytes: Uint8Array,
    descriptor: Partial<Descriptor> & { mediaType: string },
    options: { signal?: AbortSignal } = {},
  ): Promise<Descriptor> {
    const algorithm = descriptor.digest ? parseDigest(descriptor.digest).algorithm : 'sha256';
    const digest = digestOf(bytes, algorithm);
    if (descriptor.digest && descriptor.digest !== digest) {
      throw new DigestMismatchError(descriptor.digest, digest, 'manifest');
    }
    const out: Descriptor = { ...descriptor, digest, size: bytes.length };
    await this.writeBlob(out, Readable.from([Buffer.from(bytes)]), {
      signal: options.signal,
      sourceVerified: false,
    });
    return out;
  }

  /**
   * Name `descriptor` `ref` in `index.json` (the full normalised reference), replacing
   * whatever had that name, under the index lock.
   */
  tag(ref: Reference | string, descriptor: Descriptor, options: TagOptions = {}): Promise<void> {
    return this.nameImage([refName(ref)], descriptor, options);
  }

  /**
   * Give `descriptor` each of `names` in `index.json` exactly as written (no reference
   * normalisation: the registry server names pushed images `team/app:1.0`), replacing
   * whatever had those names, in one update under the index lock.
   */
  async nameImage(
    names: string[],
    descriptor: Descriptor,
    options: TagOptions = {},
  ): Promise<void> {
    const label = names.join(', ');
    await this.updateIndex(async (index) => {
      // Looked up together (one thread-pool round trip, under the lock); the first
      // missing one in order is reported.
      const needed = [descriptor, ...(options.require ?? [])];
      const sizes = await Promise.all(needed.map((need) => this.hasBlob(need.digest)));
      const missing = needed.find((need, i) => sizes[i] !== need.size);
      if (missing) {
        throw new StoreError(
          `cannot tag ${label}: blob ${missing.digest} is missing from ${this.dir} (removed by a concurrent prune?)`,
          this.blobPath(missing.digest),
        );
      }
      const { annotations, ...rest } = descriptor;
      const wanted = new Set(names);
      const entries = names.map(
        (name): Descriptor => ({
          ...rest,
          annotations: { ...annotations, [REF_NAME_ANNOTATION]: name },
        }),
      );
      index.manifests = [...index.manifests.filter((d) => !wanted.has(nameOf(d))), ...entries];
      return true;
    }, options);
  }

  /**
   * Remove the name `ref` from `index.json`, and with it the image's sigstore signature
   * names (`REPOSITORY:sha256-<hex>.sig`) that no other name of its repository still
   * needs; false when `ref` was not there. {@link Store.removeName} says which went.
   */
  async untag(ref: Reference | string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    return (await this.removeName(ref, options)).length > 0;
  }

  /**
   * {@link Store.untag}, resolving to every name it removed: `ref`'s first, then the
   * signature names that went with it; empty when `ref` was not there.
   */
  async removeName(
    ref: Reference | string,
    options: { signal?: AbortSignal } = {},
  ): Promise<string[]> {
    const name = refName(ref);
    let removed: string[] = [];
    await this.updateIndex(async (index) => {
      const kept = index.manifests.filter((d) => nameOf(d) !== name);
      if (kept.length === index.manifests.length) return false;
      const orphans = await orphanSignatureNames(this.layout, kept, options);
      index.manifests = kept.filter((d) => !orphans.has(nameOf(d)));
      removed = [name, ...orphans];
      return true;
    }, options);
    return removed;
  }

  /**
   * Protect `digests` from `prune` until the returned pin is released: an operation pins
   * what it has written or is about to name before it checks what the store holds, and
   * releases the pin once its tag is written (see `StorePin`).
   */
  pin(digests: Iterable<string>, options: { signal?: AbortSignal } = {}): Promise<StorePin> {
    return StorePin.create(this, digests, options);
  }

  /** Remove blobs no stored image reaches and stale temp files (see `pruneStore`). */
  prune(options: PruneOptions = {}): Promise<PruneResult> {
    return pruneStore(this, options);
  }

  /** Check the store; an empty list means it is sound (see `validateStore`). */
  validate(options: ValidateOptions = {}): Promise<StoreProblem[]> {
    return validateStore(this, options);
  }

  /**
   * Run `change` on a fresh copy of `index.json` while holding `locks/index.lock`, and
   * write the result atomically when it returns true. The lock is held only for this
   * read-modify-write, never around downloads.
   */
  async updateIndex(
    change: (index: ImageIndex) => Promise<boolean>,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const lock = await this.lockIndex(options);
    try {
      const index = await this.readIndexForUpdate();
      if (await change(index)) {
        const bytes = text(JSON.stringify(index));
        await replaceFile(join(this.dir, 'index.json'), bytes, { tmpDir: this.tmpDir });
      }
    } finally {
      await lock.release();
    }
  }

  /** Take the index lock (prune holds it while it sweeps). */
  lockIndex(options: { signal?: AbortSignal } = {}): Promise<FileLock> {
    return FileLock.acquire(join(this.locksDir, 'index.lock'), {
      signal: options.signal,
      timeoutMs: 120_000,
    });
  }

  private async readIndexForUpdate(): Promise<ImageIndex> {
    // Through the layout reader so a broken index.json is an error, never overwritten.
    const index = await this.layout.index();
    index.mediaType ??= MediaType.ociIndex;
    return index;
  }
}

/** True when every file and folder `open` would create is already there. */
async function isComplete(root: string): Promise<boolean> {
  const needed = [
    join(root, '.ocipeek', 'version'),
    join(root, '.ocipeek', 'tmp'),
    join(root, '.ocipeek', 'locks'),
    join(root, 'index.json'),
    join(root, 'oci-layout'),
  ];
  const present = await Promise.all(
    needed.map((p) =>
      stat(p).then(
        () => true,
        () => false,
      ),
    ),
  );
  return present.every(Boolean);
}

function text(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

/** The name a reference has in the store's `index.json`: its full normalised form. */
export function refName(ref: Reference | string): string {
  if (typeof ref !== 'string') return ref.toString();
  try {
    return parseReference(ref).toString();
  } catch {
    return ref;
  }
}

async function checkVersions(root: string): Promise<void> {
  const layoutFile = join(root, 'oci-layout');
  let version: unknown;
  try {
    version = (JSON.parse(await readFile(layoutFile, 'utf8')) as { imageLayoutVersion?: unknown })
      .imageLayoutVersion;
  } catch (cause) {
    throw new InvalidManifestError(`${layoutFile} is not valid JSON`, { cause });
  }
  if (version !== LAYOUT_VERSION) {
    throw new UnsupportedError(
      `store ${root} has imageLayoutVersion ${JSON.stringify(version)}; this ocipeek only handles ${LAYOUT_VERSION} (written by a newer version?); the store was left untouched`,
    );
  }
  const markerFile = join(root, '.ocipeek', 'version');
  const marker = await readFile(markerFile, 'utf8').catch(() => undefined);
  if (marker === undefined) return;
  const n = Number(marker.trim());
  if (!Number.isInteger(n) || n > STORE_FORMAT_VERSION) {
    throw new UnsupportedError(
      `store ${root} was written by a newer ocipeek (store format ${marker.trim()}, this one knows ${STORE_FORMAT_VERSION}); the store was left untouched`,
    );
  }
}
