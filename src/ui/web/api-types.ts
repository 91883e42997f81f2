import type { EntryJson } from '../../fs/index.js';
import type { HistoryStep, ImageInspection, LayerReport } from '../../image/index.js';
import type { StoredImage } from '../../store/index.js';
import type { FileDiffSide, TextDiff } from './file-diff.js';

/**
 * The JSON the explorer's API answers with (`/api/...`), one type per route. The pages
 * are rendered on the server from the same values, so page and API cannot disagree.
 */

/** `GET /api/catalog/HOST`: the repositories of a registry. */
export interface CatalogResponse {
  registry: string;
  repositories: string[];
}

/** One tag of a repository and the digest it points at. */
export interface TagInfo {
  tag: string;
  /** `null` when the registry would not say (the error is in `error`). */
  digest: string | null;
  mediaType: string | null;
  size: number | null;
  /** The image config's `created` (this host's platform of an index), when it gives one. */
  created: string | null;
  error?: string;
}

/**
 * A tag named after an image's digest: the referrers fallback's index (`sha256-<hex>`) or
 * a cosign attachment (`sha256-<hex>.sig`, `.att`, `.sbom`). Not an image of its own.
 */
export interface DigestTagInfo {
  tag: string;
  /** The digest of the manifest it is about. */
  subject: string;
  /** `referrers` (the fallback index), `signature`, `attestation`, `sbom`, or the suffix. */
  kind: string;
  /** Tags on this page whose digest is `subject`. */
  subjectTags: string[];
}

/**
 * `GET /api/tags/HOST/REPO[?n=N&last=TAG]`: one page of a repository's tags (in the
 * registry's order, after `last`), with their digests and dates. Tags named after a
 * digest are set apart in `digestTags` (neither opened nor counted as images).
 */
export interface TagsResponse {
  repository: string;
  tags: TagInfo[];
  /** The page's tags named after a digest (referrers indexes, signatures…). */
  digestTags: DigestTagInfo[];
  /** Tags a page holds. */
  pageSize: number;
  /** The tag this page started after, if any. */
  last?: string;
  /** The `last` of the next page; absent on the last page. */
  next?: string;
}

/** `GET /api/store`: the images in the local store, as `ocipeek images --json` lists them. */
export interface StoreResponse {
  /** The store's directory; `null` when there is none (nothing stored yet). */
  path: string | null;
  images: StoredImage[];
}

/** `GET /api/image/REF`: what `inspect` says, with the build steps paired with layers. */
export interface ImageResponse extends ImageInspection {
  /** The reference the URL named, normalised. */
  ref: string;
  /** Where the bytes come from: `registry` or `store`. */
  location: string;
  /** True when every layer has a TOC (eStargz, zstd:chunked): files cost their chunks. */
  lazy: boolean;
  steps: HistoryStep[];
}

/** An entry of a directory listing: the `ls --json` fields and the entry's own name. */
export interface DirEntry extends EntryJson {
  name: string;
  /** The name as the CLI prints it (`\xNN` for bytes that are not UTF-8). */
  display: string;
  /** The explorer page of the entry. */
  url: string;
  /** For a directory: the API route listing it. */
  api?: string;
}

/** `GET /api/dir/REF/PATH`: one directory (symlinks in the path followed). */
export interface DirResponse {
  ref: string;
  /** The directory as resolved (links followed). */
  path: string;
  entries: DirEntry[];
}

/** `GET /api/stat/REF/PATH`: one entry, the last component not followed. */
export interface StatResponse {
  ref: string;
  entry: EntryJson;
  /** For a symlink: where it leads, when that exists in the image. */
  target?: EntryJson;
}

/** `GET /api/layers/REF`: the `ocipeek layers` report. */
export type LayersResponse = LayerReport & { ref: string };

/** `GET /api/search/REF?q=TEXT`: paths whose last name contains the text. */
export interface SearchResponse {
  ref: string;
  query: string;
  matches: EntryJson[];
  /** True when there were more than the limit. */
  truncated: boolean;
}

/** `GET /api/diff?a=REF&b=REF`: paths added, removed and changed from `a` to `b`. */
export interface DiffResponse {
  a: string;
  b: string;
  added: EntryJson[];
  removed: EntryJson[];
  changed: { path: string; fields: string[]; before: EntryJson; after: EntryJson }[];
  /**
   * Regular files of one size on both sides whose contents were not compared: reading them
   * would fetch more from a registry than the diff allows itself (`ocipeek diff` reads all).
   */
  uncompared: string[];
}

/** `GET /api/stats`: what this explorer has fetched from registries so far. */
export interface StatsResponse {
  requests: number;
  bytesFetched: number;
}

/** The body of every error answer. */
export interface ErrorResponse {
  error: { code: string; message: string };
}

/**
 * `GET /api/file-diff?a=REF&b=REF&path=PATH`: how a file's content differs between two
 * images, from the first 64 KiB of each side (a side is `null` where the file is absent).
 */
export interface FileDiffResponse extends TextDiff {
  a: string;
  b: string;
  path: string;
  before: FileDiffSide | null;
  after: FileDiffSide | null;
}
