import { InvalidTarError } from '../errors/index.js';
import { decodeName } from './name-codec.js';

/**
 * Read a numeric header field: octal ASCII (leading spaces, ended by NUL or space) or the
 * GNU/star base-256 form (first byte 0x80 positive, 0xff negative) used for values that do
 * not fit, such as sizes over 8 GiB or uids over 2097151.
 */
export function parseNumeric(
  buf: Buffer,
  off: number,
  len: number,
  field: string,
  at: number,
): number {
  const first = buf[off]!;
  if (first & 0x80) return parseBase256(buf, off, len, field, at);
  const end = off + len;
  let i = off;
  while (i < end && buf[i] === 0x20) i++;
  let value = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x37) value = value * 8 + (c - 0x30);
    else if (c === 0 || c === 0x20) break;
    else throw new InvalidTarError(`${field} field is not an octal number`, at);
  }
  return value;
}

function parseBase256(buf: Buffer, off: number, len: number, field: string, at: number): number {
  if (buf[off] === 0xff) {
    let big = 0n;
    for (let i = off; i < off + len; i++) big = (big << 8n) | BigInt(buf[i]!);
    const value = Number(big - (1n << BigInt(len * 8)));
    if (!Number.isSafeInteger(value)) throw new InvalidTarError(`${field} field out of range`, at);
    return value;
  }
  let value = buf[off]! & 0x7f;
  for (let i = off + 1; i < off + len; i++) value = value * 256 + buf[i]!;
  if (!Number.isSafeInteger(value)) throw new InvalidTarError(`${field} field out of range`, at);
  return value;
}

/**
 * A NUL-terminated (or field-filling) name field, decoded by {@link decodeName}: UTF-8,
 * with bytes that are not UTF-8 kept as escapes. Node's own decoder goes first (most
 * names are valid UTF-8, and it is the fastest); only a result holding U+FFFD takes the
 * codec's way, which tells a real U+FFFD from bytes that are not UTF-8.
 */
export function parseString(buf: Buffer, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && buf[end] !== 0) end++;
  if (end === off) return '';
  const text = buf.toString('utf8', off, end);
  // Invalid UTF-8 decodes to U+FFFD: only then (or for a real U+FFFD) the codec's way.
  return text.includes('\ufffd') ? decodeName(buf, off, end) : text;
}

/**
 * The last value a string field held, to hand back without decoding when the next header
 * has the same bytes there (owner names are the same in almost every header).
 */
export class RepeatedField {
  private readonly bytes: Buffer;
  private length = -1;
  private value = '';

  constructor(readonly size: number) {
    this.bytes = Buffer.alloc(size);
  }

  /** {@link parseString} of the field at `buf[off]`, reusing the previous string when equal. */
  read(buf: Buffer, off: number): string {
    let end = off;
    const max = off + this.size;
    while (end < max && buf[end] !== 0) end++;
    const n = end - off;
    if (n === this.length) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (buf[off + i] !== this.bytes[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.value;
    }
    buf.copy(this.bytes, 0, off, end);
    this.length = n;
    this.value = n === 0 ? '' : decodeName(buf, off, end);
    return this.value;
  }
}

/**
 * Verify the header checksum: the sum of the 512 bytes with the checksum field read as
 * spaces. Both the unsigned sum (POSIX) and the signed one (old Sun and some GNU tars) are
 * accepted. Returns false for an all-zero block (an end-of-archive marker).
 */
export function checkHeader(buf: Buffer, off: number, at: number): boolean {
  let unsigned = 0;
  for (let i = off; i < off + 512; i++) unsigned += buf[i]!;
  if (unsigned === 0) return false;
  let field = 0;
  for (let i = off + 148; i < off + 156; i++) field += buf[i]!;
  unsigned = unsigned - field + 8 * 0x20;
  const stored = parseNumeric(buf, off + 148, 8, 'checksum', at);
  if (stored === unsigned) return true;
  // Rare: sum again with bytes as signed (every byte over 127 counts 256 less).
  let signed = 8 * 0x20;
  for (let i = off; i < off + 512; i++) {
    if (i >= off + 148 && i < off + 156) continue;
    const b = buf[i]!;
    signed += b > 127 ? b - 256 : b;
  }
  if (stored !== signed) {
    throw new InvalidTarError(
      `header checksum mismatch (stored ${stored}, computed ${unsigned})`,
      at,
    );
  }
  return true;
}

/**
 * Normalise an archive path: drop leading `./` and `/`, empty and `.` segments and
 * trailing slashes. `.` and `./` become `''` (the root). `..` stays for callers to confine.
 */
export function normalizeTarPath(p: string): string {
  const c0 = p.charCodeAt(0);
  if (
    p.length > 0 &&
    c0 !== 0x2f &&
    !(c0 === 0x2e && (p.length === 1 || p.charCodeAt(1) === 0x2f)) &&
    p.charCodeAt(p.length - 1) !== 0x2f &&
    !p.endsWith('/.') &&
    !p.includes('//') &&
    !p.includes('/./')
  ) {
    return p;
  }
  const out: string[] = [];
  for (const seg of p.split('/')) if (seg !== '' && seg !== '.') out.push(seg);
  return out.join('/');
}
