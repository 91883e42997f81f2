import { InvalidTarError } from '../errors/index.js';
import { normalizeTarPath, parseNumeric, parseString, RepeatedField } from './fields.js';
import { type PaxRecords, paxInteger, paxTime } from './pax.js';
import type { TarEntry, TarEntryType } from './types.js';

const TIME_KEYS = ['mtime', 'atime', 'ctime'] as const;

// Module-wide: scanners on one thread never interleave inside buildEntry.
const unameField = new RepeatedField(32);
const gnameField = new RepeatedField(32);

/** Extension data gathered from the headers that precede an entry's own header. */
export interface PendingMeta {
  /**
   * The local PAX header (`x`), if any. Global PAX records (`g`) are not here: as Go's
   * archive/tar, which containers/storage, moby and umoci read layers with, the reader
   * applies them to no entry (`read-tar.ts`).
   */
  pax?: PaxRecords;
  /** GNU `L` long name. */
  longName?: string;
  /** GNU `K` long link name. */
  longLink?: string;
}

/** The entry plus what the scanner needs to step over its body. */
export interface BuiltEntry {
  entry: TarEntry;
  /** Bytes of body stored in the archive (before padding). */
  stored: number;
  /** Old GNU sparse header with extension blocks following it. */
  sparseExtended: boolean;
}

/** The GNU magic and version (`ustar  \0`): the header holds atime and ctime at 345 and 357. */
function isGnu(buf: Buffer, off: number): boolean {
  return buf[off + 257] === 0x75 && buf[off + 262] === 0x20 && buf[off + 263] === 0x20;
}

/**
 * A GNU header's atime or ctime field, as Go's archive/tar reads it: only when its first
 * byte is set, and a field it cannot parse is no time rather than an error.
 */
function gnuTime(buf: Buffer, off: number, field: string, at: number): number | undefined {
  if (buf[off] === 0) return undefined;
  try {
    return parseNumeric(buf, off, 12, field, at);
  } catch {
    return undefined;
  }
}

function isPosixUstar(buf: Buffer, off: number): boolean {
  return (
    buf[off + 257] === 0x75 && // u
    buf[off + 258] === 0x73 && // s
    buf[off + 259] === 0x74 && // t
    buf[off + 260] === 0x61 && // a
    buf[off + 261] === 0x72 && // r
    buf[off + 262] === 0
  );
}

function typeOf(flag: number, rawName: string): TarEntryType {
  switch (flag) {
    case 0x30: // '0'
    case 0: // '\0', old v7
    case 0x37: // '7' contiguous file
      // v7 and early GNU tars mark directories only by a trailing slash.
      return rawName.endsWith('/') ? 'dir' : 'file';
    case 0x31:
      return 'hardlink';
    case 0x32:
      return 'symlink';
    case 0x33:
      return 'char';
    case 0x34:
      return 'block';
    case 0x35:
    case 0x44: // 'D' GNU dump directory: a directory whose body lists its contents
      return 'dir';
    case 0x36:
      return 'fifo';
    default:
      // POSIX: an unknown type flag is read as a regular file ('S' sparse included).
      return 'file';
  }
}

/**
 * The xattrs an entry's PAX records carry. An empty value (`SCHILY.xattr.NAME=`) is an
 * xattr whose value is empty, not a missing one: Go's archive/tar keeps the record in
 * `PAXRecords` (only its deprecated `Xattrs` map drops it), and moby and containerd set
 * xattrs from `PAXRecords`, an empty one included. Every reader (listings, cat/stat,
 * unpack, the seek index) takes xattrs from here, so all see it alike.
 */
function collectXattrs(pax: PaxRecords): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const [key, value] of pax) {
    let name: string;
    let v = value ?? '';
    if (key.startsWith('SCHILY.xattr.')) name = key.slice(13);
    else if (key.startsWith('LIBARCHIVE.xattr.')) {
      name = decodeURIComponent(key.slice(17));
      v = Buffer.from(v, 'base64').toString('latin1');
    } else continue;
    out ??= {};
    out[name] = v;
  }
  return out;
}

/**
 * Build a {@link TarEntry} from the 512-byte header at `buf[off]` and the extension data
 * that preceded it. PAX records override header fields; GNU long names override the name
 * field; the POSIX prefix field is used only with the POSIX `ustar\0` magic (in GNU
 * headers those bytes hold atime/ctime). Names go through the name codec (`name-codec.ts`)
 * and, unless `normalize` is false, {@link normalizeTarPath}.
 */
export function buildEntry(
  buf: Buffer,
  off: number,
  at: number,
  headerOffset: number,
  meta: PendingMeta,
  normalize = true,
): BuiltEntry {
  const flag = buf[off + 156]!;
  let rawName = meta.longName ?? parseString(buf, off, 100);
  if (meta.longName === undefined && isPosixUstar(buf, off)) {
    const prefix = parseString(buf, off + 345, 155);
    if (prefix !== '') rawName = `${prefix}/${rawName}`;
  }
  let stored = parseNumeric(buf, off + 124, 12, 'size', at);
  const entry: TarEntry = {
    path: '',
    type: typeOf(flag, rawName),
    size: 0,
    mode: parseNumeric(buf, off + 100, 8, 'mode', at) & 0o7777,
    uid: parseNumeric(buf, off + 108, 8, 'uid', at),
    gid: parseNumeric(buf, off + 116, 8, 'gid', at),
    mtime: parseNumeric(buf, off + 136, 12, 'mtime', at),
    headerOffset,
    dataOffset: 0,
  };
  if (isGnu(buf, off)) {
    const atime = gnuTime(buf, off + 345, 'atime', at);
    const ctime = gnuTime(buf, off + 357, 'ctime', at);
    if (atime !== undefined) entry.atime = atime;
    if (ctime !== undefined) entry.ctime = ctime;
  }
  const magicU = buf[off + 257] === 0x75; // ustar or GNU: user/group names present
  if (magicU) {
    const uname = unameField.read(buf, off + 265);
    const gname = gnameField.read(buf, off + 297);
    if (uname !== '') entry.uname = uname;
    if (gname !== '') entry.gname = gname;
  }
  let linkname = meta.longLink ?? parseString(buf, off + 157, 100);
  let sparse = flag === 0x53;
  let realSize = sparse ? parseNumeric(buf, off + 483, 12, 'realsize', at) : -1;
  const sparseExtended = sparse && buf[off + 482] !== 0;

  const pax = meta.pax;
  if (pax !== undefined) {
    const path = pax.get('path');
    if (path !== undefined) rawName = path;
    const link = pax.get('linkpath');
    if (link !== undefined) linkname = link;
    const size = pax.get('size');
    if (size !== undefined) stored = paxInteger(size, 'size', at);
    for (const key of TIME_KEYS) {
      const text = pax.get(key);
      if (text === undefined) continue;
      entry[key] = paxTime(text, key, at);
      entry.paxTimes ??= {};
      entry.paxTimes[key] = text;
    }
    const uid = pax.get('uid');
    if (uid !== undefined) entry.uid = paxInteger(uid, 'uid', at);
    const gid = pax.get('gid');
    if (gid !== undefined) entry.gid = paxInteger(gid, 'gid', at);
    const uname = pax.get('uname');
    if (uname !== undefined) entry.uname = uname;
    const gname = pax.get('gname');
    if (gname !== undefined) entry.gname = gname;
    const xattrs = collectXattrs(pax);
    if (xattrs) entry.xattrs = xattrs;
    // GNU sparse in PAX: 0.x uses GNU.sparse.size, 1.0 GNU.sparse.realsize + name.
    const sparseReal = pax.get('GNU.sparse.realsize') ?? pax.get('GNU.sparse.size');
    if (sparseReal !== undefined) {
      sparse = true;
      realSize = paxInteger(sparseReal, 'GNU.sparse.realsize', at);
      const sparseName = pax.get('GNU.sparse.name');
      if (sparseName !== undefined) rawName = sparseName;
    }
  }

  if (rawName === '') throw new InvalidTarError('entry with an empty name', at);
  entry.path = normalize ? normalizeTarPath(rawName) : rawName;
  switch (entry.type) {
    case 'dir':
      entry.size = 0;
      break;
    case 'file':
      entry.size = sparse ? realSize : stored;
      if (sparse) entry.sparse = true;
      break;
    case 'symlink':
      entry.linkname = linkname;
      entry.size = stored;
      break;
    case 'hardlink':
      entry.linkname = normalize ? normalizeTarPath(linkname) : linkname;
      entry.size = stored;
      break;
    case 'char':
    case 'block':
      entry.devmajor = parseDevice(meta, buf, off + 329, 'devmajor', at);
      entry.devminor = parseDevice(meta, buf, off + 337, 'devminor', at);
      entry.size = stored;
      break;
    default:
      entry.size = stored;
  }
  return { entry, stored, sparseExtended };
}

function parseDevice(meta: PendingMeta, buf: Buffer, off: number, key: string, at: number) {
  const pax = meta.pax?.get(`SCHILY.${key}`);
  return pax !== undefined ? paxInteger(pax, key, at) : parseNumeric(buf, off, 8, key, at);
}
