import { digestOf, isDigest, parseDigest } from '../digest/index.js';
import { LazyLayerError } from '../errors/index.js';
import { normalizeTarPath, type TarEntryType } from '../tar/index.js';
import type { LazyChunk, LazyEntry } from './lazy-entry.js';

/**
 * The digest a TOC goes by: the one its annotation gives, once the bytes are checked
 * against it (`mismatch` builds the error otherwise), else their sha256.
 */
export function tocDigestOf(
  bytes: Uint8Array,
  annotated: string | undefined,
  mismatch: (actual: string) => Error,
): string {
  if (annotated === undefined) return digestOf(bytes);
  const actual = digestOf(bytes, parseDigest(annotated).algorithm);
  if (actual !== annotated) throw mismatch(actual);
  return annotated;
}

/**
 * One entry of an eStargz or zstd:chunked TOC as JSON (both descend from CRFS stargz and
 * share the field names; zstd:chunked adds `endOffset` and the access and change times,
 * eStargz `innerOffset`). The readers and the writers of both formats use this one type.
 */
export interface TocJsonEntry {
  name: string;
  type: string;
  size?: number;
  /** RFC 3339 (`goUnixTime` for zstd:chunked, as containers/storage writes it). */
  modtime?: string;
  /** zstd:chunked: written when the tar header has them; containers/storage checks them. */
  accesstime?: string;
  changetime?: string;
  linkName?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  userName?: string;
  groupName?: string;
  /** Some zstd:chunked writers spell the owner names this way. */
  uname?: string;
  gname?: string;
  devMajor?: number;
  devMinor?: number;
  /** Values are base64 in both formats ({@link tocXattrs}). */
  xattrs?: Record<string, string>;
  digest?: string;
  offset?: number;
  endOffset?: number;
  innerOffset?: number;
  chunkOffset?: number;
  chunkSize?: number;
  chunkDigest?: string;
  chunkType?: string;
}

/** The JSON document of a TOC. */
export interface TocJson {
  version: number;
  entries: TocJsonEntry[];
}

/**
 * The type names of CRFS stargz's TOC, which eStargz, zstd:chunked and soci's zTOC all
 * use (Go's tar type flags as containers/storage's `minimal.TarTypes` names them).
 */
export const TOC_TYPE_NAMES: Readonly<Record<TarEntryType, string>> = {
  file: 'reg',
  dir: 'dir',
  symlink: 'symlink',
  hardlink: 'hardlink',
  char: 'char',
  block: 'block',
  fifo: 'fifo',
};

/** A TOC's type name to the entry type; `chunk` continues the regular file before it. */
const TYPES: Readonly<Record<string, TarEntryType | 'chunk'>> = {
  ...Object.fromEntries(
    Object.entries(TOC_TYPE_NAMES).map(([type, name]) => [name, type as TarEntryType]),
  ),
  chunk: 'chunk',
};

/** Options for {@link lazyEntriesOf}. */
export interface LazyEntriesOptions {
  /** The layer, for error messages. */
  description: string;
  /** Chunks must lie below this compressed offset (the TOC's). */
  bound: number;
  /** Where a member starting at `raw.offset` ends. */
  chunkEnd: (raw: TocJsonEntry) => number | undefined;
}

/**
 * A tar entry's xattrs as a TOC holds them: values base64 (eStargz's Go `[]byte`, and
 * containers/storage encodes them so too), keys sorted as Go writes a map; `undefined`
 * when there are none. {@link lazyEntriesOf} reads them back.
 */
export function tocXattrs(
  xattrs: Record<string, string> | undefined,
): Record<string, string> | undefined {
  const keys = Object.keys(xattrs ?? {}).sort();
  if (keys.length === 0) return undefined;
  return Object.fromEntries(
    keys.map((k) => [k, Buffer.from(xattrs![k]!, 'latin1').toString('base64')]),
  );
}

function nonNegative(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Parse the TOC JSON bytes, refusing anything that is not a version-1 TOC. */
export function parseTocJson(bytes: Buffer, description: string): TocJson {
  let toc: TocJson;
  try {
    toc = JSON.parse(bytes.toString('utf8')) as TocJson;
  } catch (err) {
    throw new LazyLayerError(description, 'toc', 'the TOC is not valid JSON', { cause: err });
  }
  if (!toc || typeof toc !== 'object' || toc.version !== 1 || !Array.isArray(toc.entries)) {
    throw new LazyLayerError(description, 'toc', 'the TOC is not a version 1 TOC with entries');
  }
  return toc;
}

/**
 * Turn TOC JSON entries into {@link LazyEntry}s: tar-entry fields as `readTar` would give
 * them, plus each regular file's chunks with their compressed extents. Chunk entries join
 * the regular file before them. Every offset is checked against the blob.
 */
export function lazyEntriesOf(raw: TocJsonEntry[], options: LazyEntriesOptions): LazyEntry[] {
  const { description } = options;
  const bad = (problem: 'toc' | 'offset', message: string) =>
    new LazyLayerError(description, problem, message);
  const entries: LazyEntry[] = [];
  let lastFile: LazyEntry | undefined;
  for (const [index, r] of raw.entries()) {
    if (!r || typeof r.name !== 'string' || typeof r.type !== 'string') {
      throw bad('toc', `TOC entry ${index} has no name or type`);
    }
    const type = TYPES[r.type];
    if (!type) throw bad('toc', `TOC entry ${r.name} has unknown type ${r.type}`);
    const path = normalizeTarPath(r.name);
    const size = r.size ?? 0;
    if (!nonNegative(size)) throw bad('toc', `TOC entry ${r.name} has a bad size`);
    let chunk: LazyChunk | undefined;
    if ((type === 'file' && size > 0) || type === 'chunk') {
      // A "zeros" chunk (zstd:chunked, a run of zero bytes) still has its frame of zeros.
      if (r.chunkType && r.chunkType !== 'data' && r.chunkType !== 'zeros') {
        throw bad('toc', `${r.name}: chunk type ${r.chunkType} is not supported`);
      }
      const offset = r.offset;
      if (!nonNegative(offset) || offset >= options.bound) {
        throw bad('offset', `${r.name}: offset ${offset} lies outside the layer's data`);
      }
      // May be unknown here (zstd:chunked chunks carry no endOffset): resolved below.
      const end = options.chunkEnd(r) ?? Number.NaN;
      const innerOffset = r.innerOffset ?? 0;
      const chunkOffset = r.chunkOffset ?? 0;
      if (!nonNegative(innerOffset) || !nonNegative(chunkOffset)) {
        throw bad('toc', `${r.name}: bad chunk offsets`);
      }
      if (r.chunkDigest !== undefined && !isDigest(r.chunkDigest)) {
        throw bad('toc', `${r.name}: bad chunk digest ${r.chunkDigest}`);
      }
      chunk = {
        offset,
        end,
        innerOffset,
        chunkOffset,
        // Filled in below once the file's size is known (0 means "to the end of the file").
        chunkSize: r.chunkSize ?? 0,
        digest: r.chunkDigest,
      };
    }
    if (type === 'chunk') {
      if (!lastFile || lastFile.path !== path) {
        throw bad('toc', `chunk of ${r.name} does not follow its regular file`);
      }
      lastFile.chunks.push(chunk!);
      continue;
    }
    if (r.digest !== undefined && !isDigest(r.digest)) {
      throw bad('toc', `${r.name}: bad digest ${r.digest}`);
    }
    const mtime = r.modtime ? Date.parse(r.modtime) / 1000 : 0;
    const entry: LazyEntry = {
      path,
      type,
      size: type === 'file' ? size : 0,
      mode: (r.mode ?? 0) & 0o7777,
      uid: r.uid ?? 0,
      gid: r.gid ?? 0,
      mtime: Number.isFinite(mtime) ? mtime : 0,
      headerOffset: entries.length,
      dataOffset: -1,
      chunks: chunk ? [chunk] : [],
    };
    const uname = r.userName ?? r.uname;
    const gname = r.groupName ?? r.gname;
    if (uname) entry.uname = uname;
    if (gname) entry.gname = gname;
    if (type === 'symlink') entry.linkname = r.linkName ?? '';
    if (type === 'hardlink') entry.linkname = normalizeTarPath(r.linkName ?? '');
    if (type === 'char' || type === 'block') {
      entry.devmajor = r.devMajor ?? 0;
      entry.devminor = r.devMinor ?? 0;
    }
    if (r.xattrs && Object.keys(r.xattrs).length > 0) {
      entry.xattrs = Object.fromEntries(
        Object.entries(r.xattrs).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('latin1')]),
      );
    }
    if (r.digest) entry.digest = r.digest;
    entries.push(entry);
    lastFile = type === 'file' ? entry : undefined;
  }
  for (const e of entries) {
    const n = e.chunks.length;
    // A member ends where the file's next chunk starts; the last one where its entry says
    // (zstd:chunked gives the file's end on the `reg` entry only).
    const fileEnd = e.chunks[0]?.end;
    for (let i = 0; i < n; i++) {
      const c = e.chunks[i]!;
      const next = e.chunks[i + 1];
      if (next && next.offset > c.offset) c.end = Math.min(next.offset, c.end || next.offset);
      else if (Number.isNaN(c.end)) c.end = next ? Number.NaN : (fileEnd ?? Number.NaN);
      if (!(c.end > c.offset)) {
        throw bad('offset', `${e.path}: chunk ${i} at ${c.offset} has no valid end`);
      }
      if (c.end > options.bound) {
        throw bad('offset', `${e.path}: data ends at ${c.end}, past the TOC at ${options.bound}`);
      }
      const size = c.chunkSize > 0 ? c.chunkSize : (next?.chunkOffset ?? e.size) - c.chunkOffset;
      if (size <= 0 || c.chunkOffset + size > e.size) {
        throw bad('toc', `${e.path}: chunk ${i} does not fit the file's ${e.size} bytes`);
      }
      c.chunkSize = size;
    }
  }
  return entries;
}
