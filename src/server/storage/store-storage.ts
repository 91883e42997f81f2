import type { BigIntStats } from 'node:fs';
import { lstat, mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { isDigest } from '../../digest/index.js';
import { isOcipeekError, NotFoundError } from '../../errors/index.js';
import { REF_NAME_ANNOTATION } from '../../layout/index.js';
import {
  type Descriptor,
  MAX_MANIFEST_BYTES,
  manifestMediaType,
  parseManifest,
} from '../../media/index.js';
import { replaceFile } from '../../store/atomic-file.js';
import { type OpenStoreOptions, Store } from '../../store/index.js';
import { openLayoutBlob } from '../registry/layout-blob.js';
import { byCodeUnits } from '../registry/names.js';
import { VerifiedBlobs } from '../registry/verified-blobs.js';
import type {
  BackendBlob,
  BackendCallOptions,
  CollectGarbageOptions,
  CollectGarbageResult,
  ManifestWrite,
  RegistryStorage,
  StoragePutBlobOptions,
  StoredBlob,
  StoredDocument,
  StoredManifest,
  UploadChunkOptions,
} from './registry-storage.js';
import { refNameOf } from './repository-names.js';
import { SessionUploads, type UploadSessions } from './session-uploads.js';
import { blobReferenced, manifestBlobsUnknown, manifestReferenced } from './storage-error.js';
import { collectStoreGarbage } from './store-gc.js';
import { StoreRecords } from './store-records.js';
import { StoreUploads } from './store-uploads.js';
import { TagReach } from './tag-reach.js';

/** Options of {@link StoreStorage}. */
export interface StoreStorageOptions {
  /** Told about refused blob files, one line each. */
  log?: (line: string) => void;
  /** Blobs larger than this are refused (`too-large`). Default: no limit. */
  maxBlobBytes?: number;
}

/**
 * {@link RegistryStorage} over the ocipeek store, shared with the CLI: an image pulled
 * with `ocipeek pull` is served at once, and what is pushed shows in `ocipeek images`.
 *
 * - Tags are the store's `index.json` names (see `repository-names.ts` for the mapping).
 * - Blobs are the store's `blobs/`, shared by every repository; what belongs to which
 *   repository is kept in {@link StoreRecords} (pushed content) or follows from the
 *   repository's tags ({@link TagReach}: pulled images).
 * - Uploads are files under `.ocipeek/uploads/` ({@link StoreUploads}), renamed into
 *   `blobs/` once verified (`Store.adoptBlob`), never copied.
 * - Garbage collection must not race pushes: every write pins the digests it is about to
 *   check or name (the store's pins, which `prune` honours) and records them before the
 *   pin goes; the collector keeps anything recorded in the last hour.
 */
export class StoreStorage extends SessionUploads implements RegistryStorage {
  private readonly records: StoreRecords;
  private readonly sessions: StoreUploads;
  /** The upload sessions (files under `.ocipeek/uploads/`), for {@link SessionUploads}. */
  protected get uploads(): UploadSessions {
    return this.sessions;
  }
  private readonly reach: TagReach;
  private readonly verified = new VerifiedBlobs();

  constructor(
    readonly store: Store,
    private readonly options: StoreStorageOptions = {},
  ) {
    super();
    const ocipeek = join(store.dir, '.ocipeek');
    this.records = new StoreRecords(join(store.rootsDir, 'registry'), store.tmpDir);
    this.sessions = new StoreUploads(
      join(ocipeek, 'uploads'),
      store.locksDir,
      options.maxBlobBytes,
    );
    this.reach = new TagReach(store);
  }

  /** Open (creating when missing) the store at `dir` and serve it. */
  static async open(
    dir: string | undefined,
    options: StoreStorageOptions & OpenStoreOptions = {},
  ): Promise<StoreStorage> {
    return new StoreStorage(await Store.open(dir, options), options);
  }

  // ---- reading ----

  async repositories(options: BackendCallOptions = {}): Promise<string[]> {
    const tagged = await this.reach.repositories(options.signal);
    const all = new Set([...tagged.keys(), ...(await this.records.repositories(options.signal))]);
    return [...all].sort(byCodeUnits);
  }

  async hasRepository(name: string, options: BackendCallOptions = {}): Promise<boolean> {
    if (await this.records.hasRepository(name)) return true;
    return (await this.reach.repositories(options.signal)).has(name);
  }

  async tags(name: string, options: BackendCallOptions = {}): Promise<string[]> {
    const tags = (await this.reach.repositories(options.signal)).get(name);
    return tags ? [...tags.keys()].sort(byCodeUnits) : [];
  }

  async getManifest(
    name: string,
    reference: string,
    options: BackendCallOptions = {},
  ): Promise<StoredManifest | undefined> {
    let descriptor: Descriptor | undefined;
    if (isDigest(reference)) {
      descriptor =
        (await this.records.manifest(name, reference))?.value.descriptor ??
        (await this.reach.of(name, options.signal)).manifests.get(reference);
    } else {
      descriptor = (await this.reach.repositories(options.signal)).get(name)?.get(reference);
    }
    if (!descriptor) return undefined;
    let bytes: Buffer;
    try {
      bytes = await this.store.readBlob(descriptor.digest, {
        signal: options.signal,
        maxBytes: MAX_MANIFEST_BYTES,
      });
    } catch (err) {
      if (isOcipeekError(err, NotFoundError.code)) return undefined;
      throw err;
    }
    const manifest = parseManifest(bytes, descriptor.mediaType);
    const mediaType = manifestMediaType(manifest, descriptor.mediaType);
    return { descriptor: { mediaType, digest: descriptor.digest, size: bytes.length }, bytes };
  }

  /** True when blob `digest` belongs to repository `name` (the store may still lack it). */
  private async holds(name: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    if (await this.records.hasBlobLink(name, digest)) return true;
    if (await this.records.manifest(name, digest)) return true;
    return (await this.reach.of(name, signal)).blobs.has(digest);
  }

  async openBlob(
    name: string,
    digest: string,
    options: BackendCallOptions = {},
  ): Promise<BackendBlob | undefined> {
    if (!(await this.holds(name, digest, options.signal))) return undefined;
    return openLayoutBlob(this.store.dir, digest, this.verified, this.options.log);
  }

  async statBlob(
    name: string,
    digest: string,
    options: BackendCallOptions = {},
  ): Promise<number | undefined> {
    if (!(await this.holds(name, digest, options.signal))) return undefined;
    return this.store.hasBlob(digest);
  }

  async referrers(
    name: string,
    digest: string,
    options: BackendCallOptions = {},
  ): Promise<Descriptor[]> {
    const recorded = await this.records.referrers(name, digest);
    const seen = new Set(recorded.map((d) => d.digest));
    const tagged = (await this.reach.of(name, options.signal)).referrers.get(digest) ?? [];
    return [...recorded, ...tagged.filter((d) => !seen.has(d.digest))];
  }

  // ---- blobs ----

  async putBlob(
    name: string,
    digest: string,
    source: Readable,
    options: StoragePutBlobOptions = {},
  ): Promise<StoredBlob> {
    const session = await this.sessions.start(name);
    try {
      return await this.completeUpload(name, session.id, digest, source, {
        signal: options.signal,
        length: options.size,
      });
    } finally {
      await this.sessions.cancel(name, session.id).catch(() => false);
    }
  }

  async mountBlob(
    name: string,
    digest: string,
    from: string | undefined,
    options: BackendCallOptions = {},
  ): Promise<boolean> {
    if (from !== undefined && !(await this.holds(from, digest, options.signal))) return false;
    return this.withPin([digest], async () => {
      const size = await this.store.hasBlob(digest);
      if (size === undefined) return false;
      await this.records.linkBlob(name, { digest, size });
      return true;
    });
  }

  async deleteBlob(
    name: string,
    digest: string,
    options: BackendCallOptions = {},
  ): Promise<boolean> {
    if ((await this.reach.of(name, options.signal)).blobs.has(digest)) {
      throw blobReferenced(name, digest);
    }
    return this.records.unlinkBlob(name, digest);
  }

  // ---- uploads ----

  async completeUpload(
    name: string,
    id: string,
    digest: string,
    chunk?: Readable,
    options: UploadChunkOptions = {},
  ): Promise<StoredBlob> {
    const done = await this.sessions.finish(name, id, digest, chunk, options);
    try {
      const blob = { digest, size: done.size };
      await this.withPin([digest], async () => {
        const uploaded = await lstat(done.path, { bigint: true });
        if (
          await this.store.adoptBlob(blob, done.path, { signal: options.signal, verified: true })
        ) {
          await this.rememberAdopted(digest, uploaded);
        }
        await this.records.linkBlob(name, blob);
      });
      return blob;
    } finally {
      await done.dispose();
    }
  }

  /**
   * Remember blob `digest`, just adopted from an upload this process hashed, as verified,
   * so that serving it does not hash it again: the pulls that follow a push (and a
   * pull-through cache's warm reads) would otherwise each hash every layer until one of
   * them finished, 64 clients × every layer on the main thread. Only when the file in
   * `blobs/` is still the upload's inode, unchanged (the rename moved its ctime: taken
   * from the file now).
   */
  private async rememberAdopted(digest: string, uploaded: BigIntStats): Promise<void> {
    const now = await lstat(this.store.blobPath(digest), { bigint: true }).catch(() => undefined);
    if (
      now?.isFile() &&
      now.ino === uploaded.ino &&
      now.dev === uploaded.dev &&
      now.size === uploaded.size &&
      now.mtimeNs === uploaded.mtimeNs
    ) {
      const { dev, ino, size, mtimeNs, ctimeNs } = now;
      this.verified.add(digest, { dev, ino, size, mtimeNs, ctimeNs });
    }
  }

  // ---- manifests and tags ----

  async putManifest(
    name: string,
    manifest: ManifestWrite,
    options: BackendCallOptions = {},
  ): Promise<void> {
    const { descriptor, requires } = manifest;
    const digests = [descriptor.digest, ...requires.map((r) => r.digest)];
    await this.withPin(digests, async () => {
      const missing: string[] = [];
      for (const need of requires) {
        const inRepo = await this.holds(name, need.digest, options.signal);
        if (!inRepo || (await this.store.hasBlob(need.digest)) !== need.size) {
          missing.push(need.digest);
        }
      }
      if (missing.length > 0) {
        throw manifestBlobsUnknown(name, missing);
      }
      await this.store.writeBlob(descriptor, Readable.from([manifest.bytes]), {
        signal: options.signal,
      });
      for (const need of requires) await this.records.linkBlob(name, need);
      await this.records.putManifest(name, { descriptor, subject: manifest.subject });
      if (manifest.tags.length > 0) {
        const names = manifest.tags.map((tag) => refNameOf(name, tag));
        await this.store.nameImage(names, descriptor, {
          signal: options.signal,
          require: requires,
        });
      }
    });
  }

  async deleteManifest(
    name: string,
    digest: string,
    options: BackendCallOptions = {},
  ): Promise<boolean> {
    const reach = await this.reach.of(name, options.signal);
    const tagged = [...reach.tags].filter(([, d]) => d.digest === digest).map(([t]) => t);
    if (reach.manifests.has(digest) && tagged.length === 0) {
      throw manifestReferenced(name, digest);
    }
    const recorded = await this.records.deleteManifest(name, digest);
    if (tagged.length > 0) await this.removeTags(name, tagged, options);
    return recorded || tagged.length > 0;
  }

  async deleteTag(name: string, tag: string, options: BackendCallOptions = {}): Promise<boolean> {
    const descriptor = (await this.reach.repositories(options.signal)).get(name)?.get(tag);
    if (!descriptor) return false;
    // The manifest stays in the repository, by digest, as distribution keeps it.
    if (!(await this.records.manifest(name, descriptor.digest))) {
      await this.withPin([descriptor.digest], () =>
        this.records.putManifest(name, { descriptor: stripRefName(descriptor) }),
      );
    }
    return (await this.removeTags(name, [tag], options)) > 0;
  }

  private async removeTags(name: string, tags: string[], options: BackendCallOptions) {
    const names = new Set(tags.map((t) => refNameOf(name, t)));
    let removed = 0;
    await this.store.updateIndex(async (index) => {
      const kept = index.manifests.filter(
        (d) => !names.has(d.annotations?.[REF_NAME_ANNOTATION] ?? ''),
      );
      removed = index.manifests.length - kept.length;
      index.manifests = kept;
      return removed > 0;
    }, options);
    return removed;
  }

  collectGarbage(options: CollectGarbageOptions = {}): Promise<CollectGarbageResult> {
    const { store, records, sessions, reach } = this;
    return collectStoreGarbage({ store, records, uploads: sessions, reach }, options);
  }

  /** `.ocipeek/NAME.json` in the store (see {@link RegistryStorage.document}). */
  document(name: string): StoredDocument {
    const path = join(this.store.dir, '.ocipeek', `${name}.json`);
    return {
      read: async () => {
        try {
          return JSON.parse(await readFile(path, 'utf8')) as unknown;
        } catch {
          return undefined; // missing or unreadable: no record yet
        }
      },
      write: async (value) => {
        await mkdir(dirname(path), { recursive: true });
        await replaceFile(path, Buffer.from(JSON.stringify(value)), {
          tmpDir: this.store.tmpDir,
          durable: false,
        });
      },
    };
  }

  /** Run `work` with `digests` pinned against the store's `prune` and this collector. */
  private async withPin<T>(digests: string[], work: () => Promise<T>): Promise<T> {
    const pin = await this.store.pin(digests);
    try {
      return await work();
    } finally {
      await pin.release();
    }
  }
}

function stripRefName(d: Descriptor): Descriptor {
  const { annotations, ...rest } = d;
  const kept = { ...annotations };
  delete kept[REF_NAME_ANNOTATION];
  return Object.keys(kept).length > 0 ? { ...rest, annotations: kept } : rest;
}
