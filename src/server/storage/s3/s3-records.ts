import type { Descriptor } from '../../../media/index.js';
import {
  digestOfFile,
  fileOf,
  type ManifestRecord,
  type RecordEntry,
  toRecord,
} from '../store-records.js';
import type { S3Objects } from './s3-objects.js';

const REPOSITORIES = 'repositories/';
const BLOBS = '_blobs';
const MANIFESTS = '_manifests';
const REFERRERS = '_referrers';
const TAGS = '_tags';

/**
 * What each repository of an S3-backed registry holds: one small JSON object per fact
 * under `PREFIX/repositories/REPO/`, the same facts the store backend keeps as files
 * (`store-records.ts`), plus the tags:
 *
 * - `_blobs/ALG-HEX.json`: a blob pushed, mounted or named by a manifest in it;
 * - `_manifests/ALG-HEX.json`: a manifest pushed to it, with its subject;
 * - `_referrers/SUBJECT-ALG-HEX/ALG-HEX.json`: the same manifest, filed under its subject;
 * - `_tags/TAG`: the descriptor the tag points at.
 *
 * Each fact is one PUT or DELETE, atomic on any S3, so instances never rewrite a shared
 * object. No component of a repository name starts with `_` (see `isRepositoryName`), so
 * the record folders never collide with a nested repository.
 */
export class S3Records {
  constructor(private readonly objects: S3Objects) {}

  private repo(name: string): string {
    return `${REPOSITORIES}${name}/`;
  }

  /** True when `name` has any record. */
  hasRepository(name: string, signal?: AbortSignal): Promise<boolean> {
    return this.objects.any(`${this.repo(name)}_`, signal);
  }

  /** Every repository that has records, sorted. */
  async repositories(signal?: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    const walk = async (prefix: string, depth: number): Promise<void> => {
      let isRepo = false;
      for (const folder of await this.objects.folders(prefix, signal)) {
        if (folder.startsWith('_')) isRepo = true;
        else if (depth < 32) await walk(prefix + folder, depth + 1);
      }
      if (isRepo) out.push(prefix.slice(REPOSITORIES.length, -1));
    };
    await walk(REPOSITORIES, 0);
    return out.sort();
  }

  // ---- blobs ----

  linkBlob(
    name: string,
    blob: Pick<Descriptor, 'digest' | 'size'>,
    signal?: AbortSignal,
  ): Promise<void> {
    const { digest, size } = blob;
    return this.objects.putJson(
      `${this.repo(name)}${BLOBS}/${fileOf(digest)}`,
      { mediaType: 'application/octet-stream', digest, size },
      signal,
    );
  }

  async hasBlobLink(name: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    return (
      (await this.objects.head(`${this.repo(name)}${BLOBS}/${fileOf(digest)}`, signal)) !==
      undefined
    );
  }

  /** When the link of `digest` in `name` was written, or `undefined`. */
  async blobLinkTime(name: string, digest: string, signal?: AbortSignal) {
    return (await this.objects.head(`${this.repo(name)}${BLOBS}/${fileOf(digest)}`, signal))
      ?.mtimeMs;
  }

  unlinkBlob(name: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    return this.objects.deleteIfPresent(`${this.repo(name)}${BLOBS}/${fileOf(digest)}`, signal);
  }

  /** The blob links of `name`: digest → when written. */
  async blobLinks(name: string, signal?: AbortSignal): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const prefix = `${this.repo(name)}${BLOBS}/`;
    for await (const o of this.objects.list(prefix, signal)) {
      const digest = digestOfFile(o.key.slice(prefix.length));
      if (digest) out.set(digest, o.mtimeMs);
    }
    return out;
  }

  // ---- manifests ----

  async putManifest(name: string, record: ManifestRecord, signal?: AbortSignal): Promise<void> {
    const file = fileOf(record.descriptor.digest);
    const value = { ...record.descriptor, subject: record.subject };
    await this.objects.putJson(`${this.repo(name)}${MANIFESTS}/${file}`, value, signal);
    if (record.subject) {
      const subject = fileOf(record.subject).slice(0, -5);
      await this.objects.putJson(
        `${this.repo(name)}${REFERRERS}/${subject}/${file}`,
        value,
        signal,
      );
    }
  }

  async manifest(
    name: string,
    digest: string,
    signal?: AbortSignal,
  ): Promise<RecordEntry<ManifestRecord> | undefined> {
    const key = `${this.repo(name)}${MANIFESTS}/${fileOf(digest)}`;
    const entry = await this.objects.getJson<Descriptor & { subject?: string }>(key, signal);
    return entry && { value: toRecord(entry.value), mtimeMs: entry.mtimeMs };
  }

  /** Every manifest record of `name`, by digest. */
  async manifests(
    name: string,
    signal?: AbortSignal,
  ): Promise<Map<string, RecordEntry<ManifestRecord>>> {
    const out = new Map<string, RecordEntry<ManifestRecord>>();
    const prefix = `${this.repo(name)}${MANIFESTS}/`;
    for await (const o of this.objects.list(prefix, signal)) {
      const digest = digestOfFile(o.key.slice(prefix.length));
      const entry = digest && (await this.manifest(name, digest, signal));
      if (digest && entry) out.set(digest, entry);
    }
    return out;
  }

  /** Drop manifest `digest` from `name` (and from its subject's referrers). */
  async deleteManifest(name: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    const found = await this.manifest(name, digest, signal);
    if (!found) return false;
    const file = fileOf(digest);
    if (found.value.subject) {
      const subject = fileOf(found.value.subject).slice(0, -5);
      await this.objects.delete(`${this.repo(name)}${REFERRERS}/${subject}/${file}`, signal);
    }
    await this.objects.delete(`${this.repo(name)}${MANIFESTS}/${file}`, signal);
    return true;
  }

  /** The manifests of `name` whose subject is `digest`. */
  async referrers(name: string, digest: string, signal?: AbortSignal): Promise<Descriptor[]> {
    const prefix = `${this.repo(name)}${REFERRERS}/${fileOf(digest).slice(0, -5)}/`;
    const out: Descriptor[] = [];
    for await (const o of this.objects.list(prefix, signal)) {
      const entry = await this.objects.getJson<Descriptor & { subject?: string }>(o.key, signal);
      if (entry) out.push(toRecord(entry.value).descriptor);
    }
    return out;
  }

  // ---- tags ----

  setTag(name: string, tag: string, descriptor: Descriptor, signal?: AbortSignal): Promise<void> {
    return this.objects.putJson(`${this.repo(name)}${TAGS}/${tag}`, descriptor, signal);
  }

  async tag(name: string, tag: string, signal?: AbortSignal): Promise<Descriptor | undefined> {
    return (await this.objects.getJson<Descriptor>(`${this.repo(name)}${TAGS}/${tag}`, signal))
      ?.value;
  }

  deleteTag(name: string, tag: string, signal?: AbortSignal): Promise<boolean> {
    return this.objects.deleteIfPresent(`${this.repo(name)}${TAGS}/${tag}`, signal);
  }

  /** The tag names of `name`, sorted. */
  async tagNames(name: string, signal?: AbortSignal): Promise<string[]> {
    const prefix = `${this.repo(name)}${TAGS}/`;
    const out: string[] = [];
    for await (const o of this.objects.list(prefix, signal)) out.push(o.key.slice(prefix.length));
    return out.sort();
  }

  /** Tag → descriptor, for every tag of `name`. */
  async tags(name: string, signal?: AbortSignal): Promise<Map<string, Descriptor>> {
    const out = new Map<string, Descriptor>();
    for (const tag of await this.tagNames(name, signal)) {
      const d = await this.tag(name, tag, signal);
      if (d) out.set(tag, d);
    }
    return out;
  }
}
