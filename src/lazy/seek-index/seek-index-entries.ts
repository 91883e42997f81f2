import type { LazyLayerError } from '../../errors/index.js';
import { type TarEntry, type TarEntryType, TYPE_LETTERS } from '../../tar/index.js';

/*
 * The tar entries of a seek-index table, compact: the table is what a listing fetches, so
 * its size is what `ls -R` costs. Each entry is an array
 *
 *   [path, type letter, size, mode, uid, gid, mtime, extras?]
 *
 * where `extras` holds only what is not the usual: `headerGap` (the header offset minus
 * where the previous entry's content, padded to 512, ends), `headerSize` (content offset
 * minus header offset, when not 512: PAX or GNU long-name headers), uname, gname,
 * linkname, devmajor, devminor, xattrs, sparse. The offsets, near-random nine-digit
 * numbers in every entry, were most of a gzip-JSON table before; as gaps they are mostly
 * absent.
 */

const BLOCK = 512;
const TYPES = Object.fromEntries(Object.entries(TYPE_LETTERS).map(([t, l]) => [l, t])) as Record<
  string,
  TarEntryType
>;

/** Where an entry's header lies when nothing is between it and the previous entry. */
const nextHeader = (prev: TarEntry | undefined) =>
  prev ? prev.dataOffset + Math.ceil(prev.size / BLOCK) * BLOCK : 0;

/** The entries as the table stores them. */
export function encodeEntries(entries: readonly TarEntry[]): unknown[] {
  let prev: TarEntry | undefined;
  return entries.map((e) => {
    const extras: Record<string, unknown> = {};
    const gap = e.headerOffset - nextHeader(prev);
    if (gap !== 0) extras.headerGap = gap;
    if (e.dataOffset - e.headerOffset !== BLOCK) extras.headerSize = e.dataOffset - e.headerOffset;
    if (e.uname) extras.uname = e.uname;
    if (e.gname) extras.gname = e.gname;
    if (e.linkname !== undefined) extras.linkname = e.linkname;
    if (e.devmajor !== undefined) extras.devmajor = e.devmajor;
    if (e.devminor !== undefined) extras.devminor = e.devminor;
    if (e.xattrs !== undefined) extras.xattrs = e.xattrs;
    if (e.sparse) extras.sparse = true;
    prev = e;
    const row: unknown[] = [e.path, TYPE_LETTERS[e.type], e.size, e.mode, e.uid, e.gid, e.mtime];
    if (Object.keys(extras).length > 0) row.push(extras);
    return row;
  });
}

const isCount = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The entries back from the table, each checked: typed fields, offsets in order and inside
 * the tar (`size` bytes). `bad` makes the error for entry `i`.
 */
export function decodeEntries(
  raw: unknown,
  size: number,
  bad: (why: string) => LazyLayerError,
): TarEntry[] {
  if (!Array.isArray(raw)) throw bad('no entries');
  const entries: TarEntry[] = [];
  let prev: TarEntry | undefined;
  for (const [i, row] of (raw as unknown[]).entries()) {
    const [path, letter, entrySize, mode, uid, gid, mtime, extras = {}] = Array.isArray(row)
      ? row
      : [];
    const x = extras as Record<string, unknown>;
    const type = TYPES[letter as string];
    const headerOffset = nextHeader(prev) + (x.headerGap === undefined ? 0 : Number(x.headerGap));
    const dataOffset = headerOffset + (x.headerSize === undefined ? BLOCK : Number(x.headerSize));
    const e: TarEntry = {
      path,
      type: type!,
      size: entrySize,
      mode,
      uid,
      gid,
      mtime,
      headerOffset,
      dataOffset,
    };
    const ok =
      typeof path === 'string' &&
      type !== undefined &&
      isCount(entrySize) &&
      isCount(mode) &&
      isCount(uid) &&
      isCount(gid) &&
      typeof mtime === 'number' &&
      x !== null &&
      typeof x === 'object' &&
      isCount(headerOffset) &&
      isCount(dataOffset) &&
      headerOffset < dataOffset &&
      headerOffset >= (prev?.dataOffset ?? 0) &&
      dataOffset + (type === 'file' ? entrySize : 0) <= size &&
      (x.linkname === undefined || typeof x.linkname === 'string') &&
      (x.uname === undefined || typeof x.uname === 'string') &&
      (x.gname === undefined || typeof x.gname === 'string') &&
      (x.devmajor === undefined || isCount(x.devmajor)) &&
      (x.devminor === undefined || isCount(x.devminor)) &&
      (x.xattrs === undefined || (typeof x.xattrs === 'object' && x.xattrs !== null));
    if (!ok) throw bad(`entry ${i} is malformed`);
    if (x.uname !== undefined) e.uname = x.uname as string;
    if (x.gname !== undefined) e.gname = x.gname as string;
    if (x.linkname !== undefined) e.linkname = x.linkname as string;
    if (x.devmajor !== undefined) e.devmajor = x.devmajor as number;
    if (x.devminor !== undefined) e.devminor = x.devminor as number;
    if (x.xattrs !== undefined) e.xattrs = x.xattrs as Record<string, string>;
    if (x.sparse === true) e.sparse = true;
    entries.push(e);
    prev = e;
  }
  return entries;
}
