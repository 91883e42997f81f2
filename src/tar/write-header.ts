import { UnsupportedError } from '../errors/index.js';
import { encodeName, escapeName } from './name-codec.js';
import type { TarEntry, TarEntryType } from './types.js';

/*
 * The header half of the project's tar writer (`write-tar.ts` streams whole archives, the
 * eStargz writer places headers between its gzip members). Ours rather than tar-stream's:
 * names are bytes here (`name-codec.ts`), which a library that takes and gives UTF-8
 * strings cannot keep, and the eStargz writer needs the header bytes on their own.
 *
 * Output is POSIX pax: a ustar header, preceded by a PAX extended header (`x`) only when a
 * field does not fit ustar, as GNU tar's and Go's writers do.
 */

const BLOCK = 512;
const EMPTY: Buffer = Buffer.alloc(0);

const TYPEFLAGS: Readonly<Record<TarEntryType, number>> = {
  file: 0x30,
  hardlink: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  dir: 0x35,
  fifo: 0x36,
};

/** The fields a header is written from: a {@link TarEntry} without its offsets. */
export type TarHeaderFields = Omit<TarEntry, 'headerOffset' | 'dataOffset'>;

/** Zero bytes that pad a body of `size` bytes to the next block. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? EMPTY : Buffer.alloc(BLOCK - rest);
}

/** The two zero blocks that end an archive. */
export const TAR_END: Buffer = Buffer.alloc(2 * BLOCK);

/** `LEN KEY=VALUE\n`, LEN counting the whole record in bytes (itself included). */
function paxRecord(key: string, value: Buffer): Buffer {
  const keyBytes = encodeName(key);
  const rest = keyBytes.length + value.length + 3; // ' ', '=', '\n'
  let length = rest + String(rest).length;
  if (String(length).length !== String(rest).length) length = rest + String(length).length;
  const out = Buffer.allocUnsafe(length);
  let at = out.write(`${length} `, 0, 'latin1');
  at += keyBytes.copy(out, at);
  out[at++] = 0x3d;
  at += value.copy(out, at);
  out[at] = 0x0a;
  return out;
}

function fitsOctal(value: number, width: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value < 8 ** (width - 1);
}

/**
 * A numeric field: octal digits and a NUL when the value fits, else the GNU/star base-256
 * form (what GNU tar, Go and tar-stream read; the PAX record written beside it is what
 * strict POSIX readers use).
 */
function writeNumber(h: Buffer, value: number, at: number, width: number): void {
  if (fitsOctal(value, width)) {
    h.write(value.toString(8).padStart(width - 1, '0'), at, width - 1, 'latin1');
    h[at + width - 1] = 0;
    return;
  }
  let v = BigInt(Math.max(0, Math.trunc(value)));
  for (let i = at + width - 1; i > at; i--) {
    h[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  h[at] = 0x80;
}

function isAscii(bytes: Buffer): boolean {
  for (const b of bytes) if (b >= 0x80) return false;
  return true;
}

/**
 * Split a name too long for the 100-byte field into ustar's prefix (up to 155 bytes) and
 * name at a slash, as POSIX allows; undefined when no slash makes both parts fit.
 */
function splitUstar(name: Buffer): { prefix: Buffer; rest: Buffer } | undefined {
  let limit = Math.min(name.length - 1, 155);
  if (name[name.length - 1] === 0x2f) limit = Math.min(limit, name.length - 2);
  const slash = name.lastIndexOf(0x2f, limit);
  if (slash <= 0 || name.length - slash - 1 > 100 || name.length - slash - 1 === 0) {
    return undefined;
  }
  return { prefix: name.subarray(0, slash), rest: name.subarray(slash + 1) };
}

/** A PAX time: integer seconds, or a decimal fraction (never exponent notation). */
function paxTime(seconds: number): string {
  const text = String(seconds);
  return text.includes('e') ? seconds.toFixed(9).replace(/\.?0+$/, '') : text;
}

interface UstarFields {
  name: Buffer;
  prefix: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: number;
  linkname: Buffer;
  uname: Buffer;
  gname: Buffer;
  devmajor: number;
  devminor: number;
}

function ustar(f: UstarFields): Buffer {
  const h = Buffer.alloc(BLOCK);
  f.name.copy(h, 0, 0, Math.min(f.name.length, 100));
  writeNumber(h, f.mode, 100, 8);
  writeNumber(h, f.uid, 108, 8);
  writeNumber(h, f.gid, 116, 8);
  writeNumber(h, f.size, 124, 12);
  writeNumber(h, f.mtime, 136, 12);
  h[156] = f.typeflag;
  f.linkname.copy(h, 157, 0, Math.min(f.linkname.length, 100));
  h.write('ustar\u000000', 257, 8, 'latin1');
  f.uname.copy(h, 265, 0, Math.min(f.uname.length, 32));
  f.gname.copy(h, 297, 0, Math.min(f.gname.length, 32));
  writeNumber(h, f.devmajor, 329, 8);
  writeNumber(h, f.devminor, 337, 8);
  f.prefix.copy(h, 345, 0, Math.min(f.prefix.length, 155));
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  h.write(sum.toString(8).padStart(6, '0'), 148, 6, 'latin1');
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

/** The mtime a ustar field can hold (PAX carries the exact one). */
function fieldTime(mtime: number): number {
  const whole = Math.floor(mtime);
  return fitsOctal(whole, 12) ? whole : whole < 0 ? 0 : 8 ** 11 - 1;
}

/**
 * The header block(s) of one entry: a ustar header, preceded by a PAX extended header when
 * a field does not fit ustar: names and link targets over 100 bytes (unless a ustar prefix
 * split fits) or not ASCII (the name's exact bytes: UTF-8, or raw where the name holds
 * bytes that are not UTF-8, as GNU tar writes them; no `hdrcharset=BINARY`, which GNU tar
 * 1.34 warns about and Go ignores), owner names over 32 bytes or not ASCII,
 * sizes of 8 GiB and more, ids and device numbers over 2097151, fractional or negative
 * mtimes, and xattrs (`SCHILY.xattr.*`, values as raw bytes). Directories get a trailing
 * slash, the root is `./`. Only regular files have a body (`size`); sparse entries cannot
 * be written.
 */
export function encodeTarHeader(entry: TarHeaderFields): Buffer {
  if (entry.sparse) {
    throw new UnsupportedError(`${escapeName(entry.path)}: sparse files cannot be rewritten`);
  }
  const path =
    entry.path === ''
      ? './'
      : entry.type === 'dir' && !entry.path.endsWith('/')
        ? `${entry.path}/`
        : entry.path;
  const name = encodeName(path);
  const linkname = entry.linkname ? encodeName(entry.linkname) : EMPTY;
  const uname = entry.uname ? encodeName(entry.uname) : EMPTY;
  const gname = entry.gname ? encodeName(entry.gname) : EMPTY;
  const size = entry.type === 'file' ? entry.size : 0;
  const pax: Buffer[] = [];

  let nameField: Buffer = name;
  let prefix: Buffer = EMPTY;
  const nameAscii = isAscii(name);
  if (name.length > 100 || !nameAscii) {
    const split = name.length > 100 ? splitUstar(name) : undefined;
    if (split && nameAscii) {
      nameField = split.rest;
      prefix = split.prefix;
    } else {
      pax.push(paxRecord('path', name));
      if (split) {
        nameField = split.rest;
        prefix = split.prefix;
      }
    }
  }
  if (linkname.length > 100 || !isAscii(linkname)) pax.push(paxRecord('linkpath', linkname));
  if (uname.length > 32 || !isAscii(uname)) pax.push(paxRecord('uname', uname));
  if (gname.length > 32 || !isAscii(gname)) pax.push(paxRecord('gname', gname));
  if (!fitsOctal(size, 12)) pax.push(paxRecord('size', Buffer.from(String(size))));
  if (!fitsOctal(entry.uid, 8)) pax.push(paxRecord('uid', Buffer.from(String(entry.uid))));
  if (!fitsOctal(entry.gid, 8)) pax.push(paxRecord('gid', Buffer.from(String(entry.gid))));
  const mtime = fieldTime(entry.mtime);
  if (mtime !== entry.mtime) pax.push(paxRecord('mtime', Buffer.from(paxTime(entry.mtime))));
  const devmajor = entry.devmajor ?? 0;
  const devminor = entry.devminor ?? 0;
  if (!fitsOctal(devmajor, 8)) {
    pax.push(paxRecord('SCHILY.devmajor', Buffer.from(String(devmajor))));
  }
  if (!fitsOctal(devminor, 8)) {
    pax.push(paxRecord('SCHILY.devminor', Buffer.from(String(devminor))));
  }
  for (const [key, value] of Object.entries(entry.xattrs ?? {})) {
    pax.push(paxRecord(`SCHILY.xattr.${key}`, Buffer.from(value, 'latin1')));
  }
  const own = ustar({
    name: nameField,
    prefix,
    mode: entry.mode & 0o7777,
    uid: entry.uid,
    gid: entry.gid,
    size,
    mtime,
    typeflag: TYPEFLAGS[entry.type],
    linkname,
    uname,
    gname,
    devmajor,
    devminor,
  });
  if (pax.length === 0) return own;
  const body = Buffer.concat(pax);
  const base = name.subarray(name.lastIndexOf(0x2f, name.length - 2) + 1);
  const paxName = Buffer.concat([Buffer.from('PaxHeaders/'), base]).subarray(0, 100);
  const paxHeader = ustar({
    name: paxName,
    prefix: EMPTY,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime,
    typeflag: 0x78, // 'x'
    linkname: EMPTY,
    uname: EMPTY,
    gname: EMPTY,
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, body, tarPadding(body.length), own]);
}
