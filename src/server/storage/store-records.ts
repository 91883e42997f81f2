import { lstat, mkdir, readdir, readFile, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isDigest, parseDigest } from '../../digest/index.js';
import type { Descriptor } from '../../media/index.js';
import { removeFile } from '../../store/fs-errors.js';
import { replaceFile } from '../../store/index.js';

/** A manifest record: the descriptor the referrers API lists, and its subject. */
export interface ManifestRecord {
  descriptor: Descriptor;
  subject?: string;
}

/** A record file and when it was last written (for the collector's grace period). */
export interface RecordEntry<T> {
  value: T;
  mtimeMs: number;
}

const BLOBS = '_blobs';
const MANIFESTS = '_manifests';
const REFERRERS = '_referrers';

/** The file (or object) name of the record of `digest`: `ALG-HEX.json`. */
export function fileOf(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}-${hex}.json`;
}

/** The digest a record file name stands for, or `undefined` for any other name. */
export function digestOfFile(name: string): string | undefined {
  const m = /^([a-z0-9]+)-([a-f0-9]+)\.json$/.exec(name);
  const digest = m ? `${m[1]}:${m[2]}` : undefined;
  return digest && isDigest(digest) ? digest : undefined;
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * What each repository of a store-backed registry holds besides its tags (which are the
 * store's `index.json` names): one small JSON file per fact under
 * `.ocipeek/roots/registry/<repository>/`, so that concurrent writers never rewrite a
 * shared file and each fact appears or goes with one atomic rename or unlink.
 *
 * - `_blobs/ALG-HEX.json`: a blob pushed, mounted or named by a manifest in it;
 * - `_manifests/ALG-HEX.json`: a manifest pushed to it (tagged or not);
 * - `_referrers/SUBJECT-ALG-HEX/ALG-HEX.json`: the same manifest, filed under its subject.
 *
 * Each file holds a descriptor, so the store's `prune` keeps what they name (they live
 * under `.ocipeek/roots/`); the registry's collector removes the records nothing needs.
 * Repository names are safe relative paths (see `isRepositoryName`), and no component of
 * one starts with `_`, so the record folders never collide with a nested repository.
 */
export class StoreRecords {
  constructor(
    /** `.ocipeek/roots/registry`. */
    readonly dir: string,
    /** The store's temp folder (same file system, for atomic writes). */
    private readonly tmpDir: string,
  ) {}

  private repoDir(name: string): string {
    return join(this.dir, ...name.split('/'));
  }

  private async write(path: string, value: unknown): Promise<void> {
    const bytes = Buffer.from(JSON.stringify(value));
    // Not synced: like blobs, records survive a killed process; `validate` covers power cuts.
    const how = { tmpDir: this.tmpDir, durable: false };
    try {
      await replaceFile(path, bytes, how);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      await mkdir(dirname(path), { recursive: true });
      await replaceFile(path, bytes, how);
    }
  }

  private async read<T>(path: string): Promise<RecordEntry<T> | undefined> {
    try {
      const [bytes, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
      return { value: JSON.parse(bytes) as T, mtimeMs: info.mtimeMs };
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  private remove(path: string): Promise<boolean> {
    return removeFile(path);
  }

  /** True when `name` has any record (it was pushed to). */
  async hasRepository(name: string): Promise<boolean> {
    const dir = this.repoDir(name);
    const found = await Promise.all(
      [BLOBS, MANIFESTS].map((sub) =>
        lstat(join(dir, sub)).then(
          (i) => i.isDirectory(),
          () => false,
        ),
      ),
    );
    return found.some(Boolean);
  }

  /** Every repository that has records. */
  async repositories(signal?: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string, depth: number): Promise<void> => {
      signal?.throwIfAborted();
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      let isRepo = false;
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        if (e.name === BLOBS || e.name === MANIFESTS) isRepo = true;
        else if (!e.name.startsWith('_') && depth < 32) {
          await walk(join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name, depth + 1);
        }
      }
      if (isRepo && prefix) out.push(prefix);
    };
    await walk(this.dir, '', 0);
    return out;
  }

  /** Record blob `descriptor` as part of `name` (refreshes the record's time). */
  linkBlob(name: string, descriptor: Pick<Descriptor, 'digest' | 'size'>): Promise<void> {
    const { digest, size } = descriptor;
    const path = join(this.repoDir(name), BLOBS, fileOf(digest));
    return this.write(path, { mediaType: 'application/octet-stream', digest, size });
  }

  /** The blob record of `digest` in `name`. */
  blobLink(name: string, digest: string): Promise<RecordEntry<Descriptor> | undefined> {
    return this.read(join(this.repoDir(name), BLOBS, fileOf(digest)));
  }

  /** True when `name` links blob `digest` (one `lstat`: the hot path of blob reads). */
  hasBlobLink(name: string, digest: string): Promise<boolean> {
    return lstat(join(this.repoDir(name), BLOBS, fileOf(digest))).then(
      () => true,
      () => false,
    );
  }

  /** Drop blob `digest` from `name`. */
  unlinkBlob(name: string, digest: string): Promise<boolean> {
    return this.remove(join(this.repoDir(name), BLOBS, fileOf(digest)));
  }

  /** The blob records of `name`, by digest. */
  async blobLinks(name: string): Promise<Map<string, RecordEntry<Descriptor>>> {
    return this.readAll<Descriptor>(join(this.repoDir(name), BLOBS));
  }

  /** Record manifest `record` as part of `name`, filed under its subject too. */
  async putManifest(name: string, record: ManifestRecord): Promise<void> {
    const dir = this.repoDir(name);
    const file = fileOf(record.descriptor.digest);
    const value = { ...record.descriptor, subject: record.subject };
    await this.write(join(dir, MANIFESTS, file), value);
    if (record.subject) {
      await this.write(join(dir, REFERRERS, fileOf(record.subject).slice(0, -5), file), value);
    }
  }

  /** The record of manifest `digest` in `name`. */
  async manifest(name: string, digest: string): Promise<RecordEntry<ManifestRecord> | undefined> {
    const entry = await this.read<Descriptor & { subject?: string }>(
      join(this.repoDir(name), MANIFESTS, fileOf(digest)),
    );
    return entry && { value: toRecord(entry.value), mtimeMs: entry.mtimeMs };
  }

  /** Every manifest record of `name`, by digest. */
  async manifests(name: string): Promise<Map<string, RecordEntry<ManifestRecord>>> {
    const raw = await this.readAll<Descriptor & { subject?: string }>(
      join(this.repoDir(name), MANIFESTS),
    );
    const out = new Map<string, RecordEntry<ManifestRecord>>();
    for (const [digest, e] of raw)
      out.set(digest, { value: toRecord(e.value), mtimeMs: e.mtimeMs });
    return out;
  }

  /** Drop manifest `digest` from `name` (and from its subject's referrers). */
  async deleteManifest(name: string, digest: string): Promise<boolean> {
    const found = await this.manifest(name, digest);
    const dir = this.repoDir(name);
    if (found?.value.subject) {
      const subjectDir = join(dir, REFERRERS, fileOf(found.value.subject).slice(0, -5));
      await this.remove(join(subjectDir, fileOf(digest)));
      await rmdir(subjectDir).catch(() => {}); // only when empty
    }
    return this.remove(join(dir, MANIFESTS, fileOf(digest)));
  }

  /** The manifests of `name` whose subject is `digest`. */
  async referrers(name: string, digest: string): Promise<Descriptor[]> {
    const subjectDir = join(this.repoDir(name), REFERRERS, fileOf(digest).slice(0, -5));
    const all = await this.readAll<Descriptor & { subject?: string }>(subjectDir);
    return [...all.values()].map((e) => toRecord(e.value).descriptor);
  }

  private async readAll<T>(dir: string): Promise<Map<string, RecordEntry<T>>> {
    const out = new Map<string, RecordEntry<T>>();
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const file of names) {
      const digest = digestOfFile(file);
      if (!digest) continue;
      const entry = await this.read<T>(join(dir, file));
      if (entry) out.set(digest, entry);
    }
    return out;
  }
}

/** A manifest record as stored (descriptor fields and `subject` in one object), split. */
export function toRecord(value: Descriptor & { subject?: string }): ManifestRecord {
  const { subject, ...descriptor } = value;
  return subject ? { descriptor, subject } : { descriptor };
}
