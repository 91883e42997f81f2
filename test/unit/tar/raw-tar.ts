/**
 * A tiny tar writer for tests that need headers no tool writes on demand: base-256
 * numbers, hand-made PAX records, bad checksums, v7 headers. Not used by the library.
 */

export interface RawHeader {
  /** A string is written as UTF-8; a Buffer as its bytes (names are bytes). */
  name: string | Buffer;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  type?: string;
  linkname?: string | Buffer;
  uname?: string;
  gname?: string;
  prefix?: string | Buffer;
  /** `posix` (ustar\0 00), `gnu` (ustar  \0) or `v7` (no magic). */
  magic?: 'posix' | 'gnu' | 'v7';
  /** GNU headers only: the atime and ctime fields (at 345 and 357). */
  atime?: number;
  ctime?: number;
  /** Write the size in base-256 instead of octal. */
  base256Size?: boolean;
  /** Corrupt the checksum. */
  badChecksum?: boolean;
  /** Sum bytes as signed, as old Sun tars did (differs when a byte is over 127). */
  signedChecksum?: boolean;
}

function octal(buf: Buffer, off: number, len: number, value: number): void {
  buf.write(value.toString(8).padStart(len - 1, '0'), off, len - 1, 'latin1');
  buf[off + len - 1] = 0;
}

function base256(buf: Buffer, off: number, len: number, value: number): void {
  let v = BigInt(value);
  for (let i = off + len - 1; i > off; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  buf[off] = 0x80;
}

/** One 512-byte header block. */
export function header(h: RawHeader): Buffer {
  const b = Buffer.alloc(512);
  Buffer.from(h.name).copy(b, 0, 0, 100);
  octal(b, 100, 8, h.mode ?? 0o644);
  octal(b, 108, 8, h.uid ?? 0);
  octal(b, 116, 8, h.gid ?? 0);
  if (h.base256Size) base256(b, 124, 12, h.size ?? 0);
  else octal(b, 124, 12, h.size ?? 0);
  octal(b, 136, 12, h.mtime ?? 0);
  b.write(h.type ?? '0', 156, 1, 'latin1');
  if (h.linkname) Buffer.from(h.linkname).copy(b, 157, 0, 100);
  const magic = h.magic ?? 'posix';
  if (magic === 'posix') b.write('ustar\u000000', 257, 8, 'latin1');
  else if (magic === 'gnu') b.write('ustar  \u0000', 257, 8, 'latin1');
  if (magic !== 'v7') {
    b.write(h.uname ?? '', 265, 32, 'utf8');
    b.write(h.gname ?? '', 297, 32, 'utf8');
  }
  if (h.prefix) Buffer.from(h.prefix).copy(b, 345, 0, 155);
  if (h.atime !== undefined) octal(b, 345, 12, h.atime);
  if (h.ctime !== undefined) octal(b, 357, 12, h.ctime);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += h.signedChecksum && x > 127 ? x - 256 : x;
  if (h.badChecksum) sum += 1;
  b.write(sum.toString(8).padStart(6, '0'), 148, 6, 'latin1');
  b[154] = 0;
  b[155] = 0x20;
  return b;
}

/** Content padded to whole blocks. */
export function body(data: Buffer | string): Buffer {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const padded = Buffer.alloc(Math.ceil(buf.length / 512) * 512);
  buf.copy(padded);
  return padded;
}

/** PAX records `LEN KEY=VALUE\n`, the length counting itself. Values may be raw bytes. */
export function paxBody(records: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(records)) {
    const v = typeof value === 'string' ? Buffer.from(value) : value;
    const rest = Buffer.byteLength(key) + v.length + 3; // ' ' '=' '\n'
    let len = rest + String(rest).length;
    if (String(len).length !== String(rest).length) len = rest + String(len).length;
    parts.push(Buffer.concat([Buffer.from(`${len} ${key}=`), v, Buffer.from('\n')]));
  }
  return Buffer.concat(parts);
}

/** A PAX header (`x` or `g`) followed by its records. */
export function pax(records: Record<string, string | Buffer>, type: 'x' | 'g' = 'x'): Buffer {
  const b = paxBody(records);
  return Buffer.concat([header({ name: 'PaxHeader', type, size: b.length }), body(b)]);
}

/** A regular file: header plus padded content. */
export function file(
  name: string | Buffer,
  content: string | Buffer,
  extra: Partial<RawHeader> = {},
) {
  const data = typeof content === 'string' ? Buffer.from(content) : content;
  return Buffer.concat([header({ name, size: data.length, ...extra }), body(data)]);
}

/** The end-of-archive marker: two zero blocks. */
export const END = Buffer.alloc(1024);

/** Split `buf` into chunks of `size` bytes, to exercise headers split across chunks. */
export async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** Collect everything an async iterable of buffers yields. */
export async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}
