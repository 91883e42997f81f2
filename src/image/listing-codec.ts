import { type TarEntry, type TarEntryType, TYPE_LETTERS } from '../tar/index.js';

/**
 * The on-disk shape of a cached layer listing: one array per field instead of one object
 * per entry. For a 50,000-entry layer the object form was 9.3 MB of JSON, most of it
 * repeated keys and 9-digit offsets; columns with offsets as differences are about half
 * that, gzip faster, and parse ~3x faster (a cached `ls` reads it back).
 */
export interface ListingColumns {
  count: number;
  path: string[];
  /** One character per entry, see {@link TYPE_LETTERS}. */
  type: string;
  size: number[];
  mode: number[];
  uid: number[];
  gid: number[];
  mtime: number[];
  /** `headerOffset` minus the previous entry's (the first: itself). */
  header: number[];
  /** `dataOffset - headerOffset`. */
  data: number[];
  /** Owner names and link targets; 0 where the entry has none. */
  uname: Array<string | 0>;
  gname: Array<string | 0>;
  link: Array<string | 0>;
  /** Fields few entries have, as `[index, fields]` pairs. */
  rare: Array<[number, RareFields]>;
}

/** The fields few entries have, kept apart from the columns every entry fills. */
export type RareFields = Pick<TarEntry, 'devmajor' | 'devminor' | 'xattrs' | 'sparse'>;

const TYPE_OF_CODE = new Map(
  Object.entries(TYPE_LETTERS).map(([type, code]) => [code, type as TarEntryType]),
);

/**
 * Builds {@link ListingColumns} one entry at a time, so a scan can encode entries as they
 * come and let them go (entries kept until the end were a large share of the listing's
 * garbage-collection time).
 */
export class ListingEncoder {
  private readonly c: ListingColumns = {
    count: 0,
    path: [],
    type: '',
    size: [],
    mode: [],
    uid: [],
    gid: [],
    mtime: [],
    header: [],
    data: [],
    uname: [],
    gname: [],
    link: [],
    rare: [],
  };
  private readonly types: string[] = [];
  private previousHeader = 0;

  add(e: TarEntry): void {
    const c = this.c;
    const i = c.count++;
    c.path.push(e.path);
    this.types.push(TYPE_LETTERS[e.type]);
    c.size.push(e.size);
    c.mode.push(e.mode);
    c.uid.push(e.uid);
    c.gid.push(e.gid);
    c.mtime.push(e.mtime);
    c.header.push(e.headerOffset - this.previousHeader);
    this.previousHeader = e.headerOffset;
    c.data.push(e.dataOffset - e.headerOffset);
    c.uname.push(e.uname ?? 0);
    c.gname.push(e.gname ?? 0);
    c.link.push(e.linkname ?? 0);
    if (e.devmajor !== undefined || e.devminor !== undefined || e.xattrs || e.sparse) {
      const rare: RareFields = {};
      if (e.devmajor !== undefined) rare.devmajor = e.devmajor;
      if (e.devminor !== undefined) rare.devminor = e.devminor;
      if (e.xattrs) rare.xattrs = e.xattrs;
      if (e.sparse) rare.sparse = e.sparse;
      c.rare.push([i, rare]);
    }
  }

  /** The columns of every entry added so far. */
  finish(): ListingColumns {
    this.c.type = this.types.join('');
    return this.c;
  }
}

/** Entries to columns. */
export function encodeListing(entries: readonly TarEntry[]): ListingColumns {
  const encoder = new ListingEncoder();
  for (const e of entries) encoder.add(e);
  return encoder.finish();
}

/** Columns back to entries; throws on columns that do not fit together (a damaged file). */
export function decodeListing(c: ListingColumns): TarEntry[] {
  return new ListingDecoder(c).next(c.count);
}

/**
 * Turns {@link ListingColumns} back into entries a batch at a time. A cached layer's
 * entries decoded all at once lived until the whole layer was applied, long enough for
 * the garbage collector to copy them to the old generation, where they stayed as dead
 * weight until its next full collection: a batch dies young. The columns are checked
 * whole when the decoder is made, so a damaged file is refused before any entry is used.
 */
export class ListingDecoder {
  /** Entries in all. */
  readonly count: number;
  private c: ListingColumns | undefined;
  private i = 0;
  private headerOffset = 0;
  /** Next index into `rare`. */
  private r = 0;

  /** Throws when the columns do not fit together (a damaged file). */
  constructor(c: ListingColumns) {
    checkColumns(c);
    this.c = c;
    this.count = c.count;
  }

  /** The next `max` entries at most; an empty array once every entry was given. */
  next(max: number): TarEntry[] {
    const c = this.c;
    if (c === undefined) return [];
    const end = Math.min(c.count, this.i + max);
    const entries: TarEntry[] = new Array(end - this.i);
    let headerOffset = this.headerOffset;
    for (let i = this.i; i < end; i++) {
      headerOffset += c.header[i]!;
      const e: TarEntry = {
        path: c.path[i]!,
        type: TYPE_OF_CODE.get(c.type[i]!)!,
        size: c.size[i]!,
        mode: c.mode[i]!,
        uid: c.uid[i]!,
        gid: c.gid[i]!,
        mtime: c.mtime[i]!,
        headerOffset,
        dataOffset: headerOffset + c.data[i]!,
      };
      const uname = c.uname[i];
      const gname = c.gname[i];
      const link = c.link[i];
      if (uname !== 0) e.uname = uname;
      if (gname !== 0) e.gname = gname;
      if (link !== 0) e.linkname = link;
      entries[i - this.i] = e;
    }
    for (; this.r < c.rare.length && c.rare[this.r]![0] < end; this.r++) {
      const [i, rare] = c.rare[this.r]!;
      Object.assign(entries[i - this.i]!, rare);
    }
    this.headerOffset = headerOffset;
    this.i = end;
    // The columns are let go with the last batch.
    if (end === c.count) this.c = undefined;
    return entries;
  }
}

/** Throws unless every column has `count` entries, of known types, rare fields in order. */
function checkColumns(c: ListingColumns): void {
  const n = c.count;
  const columns = [c.path, c.size, c.mode, c.uid, c.gid, c.mtime, c.header, c.data];
  if (
    !Number.isInteger(n) ||
    typeof c.type !== 'string' ||
    c.type.length !== n ||
    columns.some((col) => !Array.isArray(col) || col.length !== n) ||
    [c.uname, c.gname, c.link].some((col) => !Array.isArray(col) || col.length !== n) ||
    !Array.isArray(c.rare)
  ) {
    throw new Error('listing columns of different lengths');
  }
  for (const code of c.type) {
    if (!TYPE_OF_CODE.has(code)) throw new Error(`unknown entry type code ${code}`);
  }
  let previous = -1;
  for (const pair of c.rare) {
    const i = Array.isArray(pair) ? pair[0] : undefined;
    if (!Number.isInteger(i) || i! <= previous || i! >= n) {
      throw new Error('listing rare fields out of order');
    }
    previous = i!;
  }
}
