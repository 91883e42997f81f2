import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { parseDigest } from '../digest/index.js';
import type { TarEntry } from '../tar/index.js';
import { decodeListing, encodeListing, type ListingColumns } from './listing-codec.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/**
 * Bumped whenever the cached entry shape changes; older files are ignored. 4: names that
 * are not UTF-8 are kept as escaped bytes (`tar/name-codec.ts`); version 3 held U+FFFD.
 */
const CACHE_VERSION = 4;

/** What scanning one layer yields; cached per layer digest. */
export interface LayerListing {
  entries: TarEntry[];
  /** Size of the uncompressed tar in bytes. */
  tarSize: number;
  /** sha256 of each regular file's content, aligned with `entries` (null elsewhere). */
  contentDigests?: Array<string | null>;
}

interface CacheFile {
  version: number;
  digest: string;
  tarSize: number;
  entries: ListingColumns;
  contentDigests?: Array<string | null>;
}

/**
 * The tar entries of each layer, cached on disk by layer digest. A layer's bytes never
 * change for a digest, so an entry list is valid forever; keying by layer (not image)
 * lets images that share a base reuse its listing. Files are gzip'd JSON of the entries
 * in columns (see {@link encodeListing}) written atomically; a damaged or outdated file is
 * ignored and rewritten.
 */
export class LayerIndexCache {
  constructor(
    /** Folder holding one file per layer (e.g. `STORE/.ocipeek/fs-index`). */
    readonly dir: string,
  ) {}

  private file(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.dir, `${algorithm}-${hex}.json.gz`);
  }

  /** True when a listing of layer `digest` is on disk (checked without reading it). */
  async has(digest: string): Promise<boolean> {
    return stat(this.file(digest)).then(
      () => true,
      () => false,
    );
  }

  /** The cached listing of layer `digest`, if any (with content digests when asked). */
  async get(
    digest: string,
    options: { contentDigests?: boolean } = {},
  ): Promise<LayerListing | undefined> {
    let raw: Buffer;
    try {
      raw = await readFile(this.file(digest));
    } catch {
      return undefined;
    }
    try {
      const parsed = JSON.parse((await gunzipAsync(raw)).toString('utf8')) as CacheFile;
      if (parsed.version !== CACHE_VERSION || parsed.digest !== digest) return undefined;
      if (options.contentDigests && !parsed.contentDigests) return undefined;
      return {
        entries: decodeListing(parsed.entries),
        tarSize: parsed.tarSize,
        ...(parsed.contentDigests ? { contentDigests: parsed.contentDigests } : {}),
      };
    } catch {
      return undefined;
    }
  }

  /** Remember the listing of layer `digest`. Failures (read-only disk…) are ignored. */
  put(digest: string, listing: LayerListing): Promise<void> {
    return this.write(digest, {
      version: CACHE_VERSION,
      digest,
      tarSize: listing.tarSize,
      entries: encodeListing(listing.entries),
      ...(listing.contentDigests ? { contentDigests: listing.contentDigests } : {}),
    });
  }

  /** {@link put} for entries already encoded while they were scanned (no content digests). */
  putEncoded(digest: string, columns: ListingColumns, tarSize: number): Promise<void> {
    return this.write(digest, { version: CACHE_VERSION, digest, tarSize, entries: columns });
  }

  private async write(digest: string, body: CacheFile): Promise<void> {
    const target = this.file(digest);
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFile(temp, await gzipAsync(JSON.stringify(body), { level: 1 }));
      await rename(temp, target);
    } catch {
      await rm(temp, { force: true });
    }
  }
}
