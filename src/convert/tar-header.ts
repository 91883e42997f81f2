import { UnsupportedError } from '../errors/index.js';
import type { TarEntry, TarEntryType } from '../tar/index.js';

const BLOCK = 512;

const TYPEFLAGS: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

/** `stat` file-type bits for a tar entry type (what Go's archive/tar puts in `Mode`). */
export const TYPE_MODE_BITS: Record<TarEntryType, number> = {
  file: 0o100000,
  hardlink: 0o100000,
  symlink: 0o120000,
  char: 0o20000,
  block: 0o60000,
  dir: 0o40000,
  fifo: 0o10000,
};

/** The fields a header is written from (a {@link TarEntry} without its offsets). */
export type TarHeaderFields = Omit<TarEntry, 'headerOffset' | 'dataOffset'>;

/** Zero bytes that pad a body of `size` bytes to the next block. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The two zero blocks that end an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length)
    length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

function fitsOctal(value: number, width: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value < 8 ** (width - 1);
}

function writeOctal(buf: Buffer, value: number, at: number, width: number): void {
  buf.write(`${value.toString(8).padStart(width - 1, '0')}\0`, at, width, 'latin1');
}

function ustar(
  name: Buffer,
  fields: {
    mode: number;
    uid: number;
    gid: number;
    size: number;
    mtime: number;
    typeflag: string;
    linkname: Buffer;
    uname: Buffer;
    gname: Buffer;
    devmajor: number;
    devminor: number;
  },
): Buffer {
  const h = Buffer.alloc(BLOCK);
  name.copy(h, 0, 0, Math.min(name.length, 100));
  writeOctal(h, fields.mode, 100, 8);
  writeOctal(h, fitsOctal(fields.uid, 8) ? fields.uid : 0, 108, 8);
  writeOctal(h, fitsOctal(fields.gid, 8) ? fields.gid : 0, 116, 8);
  writeOctal(h, fitsOctal(fields.size, 12) ? fields.size : 0, 124, 12);
  writeOctal(h, fitsOctal(fields.mtime, 12) ? fields.mtime : 0, 136, 12);
  h.write(fields.typeflag, 156, 1, 'latin1');
  fields.linkname.copy(h, 157, 0, Math.min(fields.linkname.length, 100));
  h.write('ustar\u000000', 257, 8, 'latin1');
  fields.uname.copy(h, 265, 0, Math.min(fields.uname.length, 32));
  fields.gname.copy(h, 297, 0, Math.min(fields.gname.length, 32));
  writeOctal(h, fitsOctal(fields.devmajor, 8) ? fields.devmajor : 0, 329, 8);
  writeOctal(h, fitsOctal(fields.devminor, 8) ? fields.devminor : 0, 337, 8);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

/**
 * The header block(s) of one entry: a ustar header, preceded by a PAX extended header when
 * a field does not fit ustar (long names, big sizes or ids, fractional times, xattrs).
 */
export function encodeTarHeader(entry: TarHeaderFields): Buffer {
  if (entry.sparse) throw new UnsupportedError(`${entry.path}: sparse files cannot be rewritten`);
  const path = entry.path === '' ? './' : entry.type === 'dir' ? `${entry.path}/` : entry.path;
  const name = Buffer.from(path, 'utf8');
  const linkname = Buffer.from(entry.linkname ?? '', 'utf8');
  const uname = Buffer.from(entry.uname ?? '', 'utf8');
  const gname = Buffer.from(entry.gname ?? '', 'utf8');
  const size = entry.type === 'file' ? entry.size : 0;
  const pax: Buffer[] = [];
  if (name.length > 100) pax.push(paxRecord('path', name));
  if (linkname.length > 100) pax.push(paxRecord('linkpath', linkname));
  if (uname.length > 32) pax.push(paxRecord('uname', uname));
  if (gname.length > 32) pax.push(paxRecord('gname', gname));
  if (!fitsOctal(size, 12)) pax.push(paxRecord('size', Buffer.from(String(size))));
  if (!fitsOctal(entry.uid, 8)) pax.push(paxRecord('uid', Buffer.from(String(entry.uid))));
  if (!fitsOctal(entry.gid, 8)) pax.push(paxRecord('gid', Buffer.from(String(entry.gid))));
  const mtime = Math.floor(entry.mtime);
  if (mtime !== entry.mtime || !fitsOctal(mtime, 12)) {
    pax.push(paxRecord('mtime', Buffer.from(String(entry.mtime))));
  }
  for (const [key, value] of Object.entries(entry.xattrs ?? {})) {
    pax.push(paxRecord(`SCHILY.xattr.${key}`, Buffer.from(value, 'latin1')));
  }
  const own = ustar(name, {
    mode: entry.mode & 0o7777,
    uid: entry.uid,
    gid: entry.gid,
    size,
    mtime: Math.max(0, mtime),
    typeflag: TYPEFLAGS[entry.type],
    linkname,
    uname,
    gname,
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0,
  });
  if (pax.length === 0) return own;
  const body = Buffer.concat(pax);
  const paxName = Buffer.from(`PaxHeaders/${path.replace(/\/$/, '')}`.slice(0, 100), 'utf8');
  const paxHeader = ustar(paxName, {
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: Math.max(0, mtime),
    typeflag: 'x',
    linkname: Buffer.alloc(0),
    uname: Buffer.alloc(0),
    gname: Buffer.alloc(0),
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, body, tarPadding(body.length), own]);
}
