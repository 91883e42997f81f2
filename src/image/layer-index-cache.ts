import { mkdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ZlibOptions } from 'node:zlib';
import { zlib } from '../node/lazy-builtins.js';
import { tempName } from '../store/atomic-file.js';
import {
  DEFAULT_LISTING_CACHE_MAX_BYTES,
  evictLeastRecentlyUsed,
  type ListingFile,
  listingFileName,
  scanListingFiles,
} from '../store/listing-cache-files.js';
import type { TarEntry } from '../tar/index.js';
import { encodeListing, type ListingColumns, ListingDecoder } from './listing-codec.js';

const gzipAsync = (data: string, options: ZlibOptions) => promisify(zlib().gzip)(data, options);
const gunzipAsync = (data: Buffer) => promisify(zlib().gunzip)(data);

/**
 * Bumped whenever the cached entry shape changes; older files are ignored. 5: an xattr
 * with an empty value (`SCHILY.xattr.NAME=`) is kept (version 4 dropped it). 4: names that
 * are not UTF-8 are kept as escaped bytes (`tar/name-codec.ts`); version 3 held U+FFFD.
 */
const CACHE_VERSION = 5;

/** What scanning one layer yields; cached per layer digest. */
export interface LayerListing {
  entries: TarEntry[];
  /** Size of the uncompressed tar in bytes. */
  tarSize: number;
  /** sha256 of each regular file's content, aligned with `entries` (null elsewhere). */
  contentDigests?: Array<string | null>;
}

/** A cached listing as {@link LayerIndexCache.read} gives it: entries still as columns. */
export interface CachedListing extends Omit<LayerListing, 'entries'> {
  entries: ListingDecoder;
}

/** Set in the class's static block: {@link readCachedListing} reads with its private state. */
let readColumns: (cache: LayerIndexCache, digest: string) => Promise<CachedListing | undefined>;

/**
 * {@link LayerIndexCache.get}, its entries to be decoded a batch at a time (see
 * {@link ListingDecoder}): what `buildFilesystem` applies, so that no cached layer is held
 * as entries whole. Not part of the public API (a function beside the class, not a
 * method, for that reason).
 */
export function readCachedListing(
  cache: LayerIndexCache,
  digest: string,
): Promise<CachedListing | undefined> {
  return readColumns(cache, digest);
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
 *
 * The folder is bounded (`maxBytes`): a read marks a file used (its mtime), and a write
 * that takes the folder past the bound removes the least recently used files. The first
 * write of an instance looks at the folder once; later writes keep that picture current.
 * `prune` trims the same folder (listings of layers no longer stored, then to the bound).
 */
export class LayerIndexCache {
  /** Most bytes the folder may hold after a write. */
  readonly maxBytes: number;
  private files: Promise<ListingFile[]> | undefined;
  /** `files` once read. */
  private known: ListingFile[] | undefined;

  constructor(
    /** Folder holding one file per layer (e.g. `STORE/.ocipeek/fs-index`). */
    readonly dir: string,
    options: { maxBytes?: number } = {},
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_LISTING_CACHE_MAX_BYTES;
  }

  private file(digest: string): string {
    return join(this.dir, listingFileName(digest));
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
    const cached = await this.read(digest, options);
    if (cached === undefined) return undefined;
    return {
      entries: cached.entries.next(cached.entries.count),
      tarSize: cached.tarSize,
      ...(cached.contentDigests ? { contentDigests: cached.contentDigests } : {}),
    };
  }

  static {
    readColumns = (cache, digest) => cache.read(digest, {});
  }

  /** {@link get}, its entries still columns (see {@link readCachedListing}). */
  private async read(
    digest: string,
    options: { contentDigests?: boolean } = {},
  ): Promise<CachedListing | undefined> {
    let raw: Buffer;
    const path = this.file(digest);
    try {
      raw = await readFile(path);
    } catch {
      return undefined;
    }
    // Used now: the last to be evicted. Not awaited, nothing depends on it.
    const now = new Date();
    utimes(path, now, now).catch(() => {});
    const name = listingFileName(digest);
    const known = this.known?.find((f) => f.name === name);
    if (known) known.lastUsed = now.getTime();
    try {
      const parsed = JSON.parse((await gunzipAsync(raw)).toString('utf8')) as CacheFile;
      if (parsed.version !== CACHE_VERSION || parsed.digest !== digest) return undefined;
      if (options.contentDigests && !parsed.contentDigests) return undefined;
      return {
        entries: new ListingDecoder(parsed.entries),
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
    const name = listingFileName(digest);
    // The temp name carries the pid: `prune` removes those of writers that died.
    const temp = tempName(this.dir, name);
    try {
      await mkdir(this.dir, { recursive: true });
      const bytes = await gzipAsync(JSON.stringify(body), { level: 1 });
      await writeFile(temp, bytes);
      await rename(temp, join(this.dir, name));
      await this.bound(name, bytes.length);
    } catch {
      await rm(temp, { force: true });
    }
  }

  /** Account for a file just written and evict the least recently used past the bound. */
  private async bound(name: string, size: number): Promise<void> {
    this.files ??= scanListingFiles(this.dir);
    const files = await this.files;
    this.known = files;
    const known = files.findIndex((f) => f.name === name);
    if (known >= 0) files.splice(known, 1);
    files.push({ name, size, lastUsed: Date.now() });
    await evictLeastRecentlyUsed(this.dir, files, this.maxBytes);
  }
}
