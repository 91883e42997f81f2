/*
 * Tar names are bytes. Linux file names are too, and nothing makes them UTF-8: two files
 * `caf\xe9` and `caf\xe8` (Latin-1 names from an old build) are distinct, and decoding
 * both as UTF-8 turns them into one `caf\uFFFD`, so one hides the other.
 *
 * Names stay JavaScript strings (the whole API takes and gives strings) with Python's
 * "surrogateescape" (PEP 383): a name that is valid UTF-8 (nearly every name; ASCII ones
 * take a fast path) decodes as usual, and every byte that is not part of a valid UTF-8
 * sequence becomes the lone surrogate U+DC80 + (byte - 0x80). Valid UTF-8 never decodes
 * to a surrogate, so the mapping is lossless and distinct names stay distinct; encoding
 * turns those code points back into their bytes.
 *
 * Where names leave the process they are encoded back: tar headers ({@link encodeName}),
 * file system calls during unpack ({@link fsPath}: a Buffer only for a name holding
 * escaped bytes, so the common path stays a plain string), and human output
 * ({@link escapeName}: `caf\xe9`). JSON output carries the string itself: `JSON.stringify`
 * writes a lone surrogate as the escape `\udce9`, which Python's
 * `s.encode('utf-8', 'surrogateescape')` turns back into the byte.
 */

import { isUtf8 } from 'node:buffer';

/** First code point of the escape range: byte 0x80 maps to U+DC80, 0xff to U+DCFF. */
const ESCAPE_BASE = 0xdc00;

/** A lone surrogate of the escape range (`u`: a surrogate pair is one code point, no match). */
const ESCAPED_BYTE = /[\udc80-\udcff]/u;

/** Is `b` a UTF-8 continuation byte? */
function cont(b: number | undefined): boolean {
  return b !== undefined && (b & 0xc0) === 0x80;
}

/**
 * Length of the valid UTF-8 sequence starting with the non-ASCII byte at `buf[i]`, or 0.
 * Overlong forms, surrogates (ED A0..BF) and code points past U+10FFFF are invalid, as in
 * every strict decoder (and Node's own, which would make U+FFFD of them).
 */
function sequenceLength(buf: Uint8Array, i: number, end: number): number {
  const b0 = buf[i]!;
  if (b0 >= 0xc2 && b0 <= 0xdf) return i + 1 < end && cont(buf[i + 1]) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (i + 2 >= end) return 0;
    const b1 = buf[i + 1]!;
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return b1 >= lo && b1 <= hi && cont(buf[i + 2]) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (i + 3 >= end) return 0;
    const b1 = buf[i + 1]!;
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return b1 >= lo && b1 <= hi && cont(buf[i + 2]) && cont(buf[i + 3]) ? 4 : 0;
  }
  return 0;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** The slow path of {@link decodeName}: bytes that are not all valid UTF-8. */
function decodeEscaping(buf: Buffer, start: number, end: number): string {
  let out = '';
  let run = start;
  let i = start;
  while (i < end) {
    if (buf[i]! < 0x80) {
      i++;
      continue;
    }
    const n = sequenceLength(buf, i, end);
    if (n > 0) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', run, i) + String.fromCharCode(ESCAPE_BASE + buf[i]!);
    i++;
    run = i;
  }
  return out + buf.toString('utf8', run, end);
}

/**
 * A name from its bytes `bytes[start, end)`: UTF-8 where the bytes are valid UTF-8, each
 * other byte as U+DC80 + (byte - 0x80). Lossless: {@link encodeName} gives the bytes back.
 */
export function decodeName(bytes: Uint8Array, start = 0, end = bytes.length): string {
  if (end <= start) return '';
  const buf = toBuffer(bytes);
  let high = 0;
  for (let i = start; i < end; i++) high |= buf[i]!;
  if (high < 0x80) return buf.toString('latin1', start, end);
  if (isUtf8(buf.subarray(start, end))) return buf.toString('utf8', start, end);
  return decodeEscaping(buf, start, end);
}

/** True when `name` holds bytes that are not UTF-8 (escaped by {@link decodeName}). */
export function hasEscapedBytes(name: string): boolean {
  return ESCAPED_BYTE.test(name);
}

/**
 * The bytes of a name: UTF-8, with each escaped byte (U+DC80..U+DCFF, unpaired) turned back
 * into itself. Other unpaired surrogates cannot come from {@link decodeName}; they encode
 * as U+FFFD, as Node encodes them everywhere.
 */
export function encodeName(name: string): Buffer {
  if (!ESCAPED_BYTE.test(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = name.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++; // a pair: one character, not an escape
      continue;
    }
    if (c >= 0xdc80 && c <= 0xdcff) {
      parts.push(Buffer.from(name.slice(run, i), 'utf8'), Buffer.of(c - ESCAPE_BASE));
      run = i + 1;
    }
  }
  parts.push(Buffer.from(name.slice(run), 'utf8'));
  return Buffer.concat(parts);
}

/**
 * A path for Node's `fs` calls: the string itself, or its exact bytes when it holds escaped
 * bytes (`fs` encodes strings as UTF-8, which would turn each escape into U+FFFD).
 */
export function fsPath(path: string): string | Buffer {
  return ESCAPED_BYTE.test(path) ? encodeName(path) : path;
}

/** What {@link escapeName} rewrites: C0 controls, DEL, backslash, escaped bytes. */
const DISPLAY_SPECIAL = /[\u0000-\u001f\u007f\\]|[\udc80-\udcff]/u;
const DISPLAY_SPECIAL_ALL = /[\u0000-\u001f\u007f\\]|[\udc80-\udcff]/gu;

function displayEscape(c: string): string {
  if (c === '\\') return '\\\\';
  // U+DC80..U+DCFF and control characters alike: the low byte is the byte.
  return `\\x${(c.charCodeAt(0) & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * A name for human output: each byte that is not UTF-8 as `\xNN` (`caf\xe9`), control
 * characters as `\xNN` too (a newline in a name must not start a new line of a listing),
 * and a backslash as `\\`, so the text is unambiguous and {@link unescapeName} reads it
 * back. Names without any of those come back as they are.
 */
export function escapeName(name: string): string {
  return DISPLAY_SPECIAL.test(name) ? name.replace(DISPLAY_SPECIAL_ALL, displayEscape) : name;
}

/**
 * A name typed the way {@link escapeName} prints it: `\xNN` is the byte NN and `\\` a
 * backslash; a backslash before anything else stands for itself. The bytes are then
 * decoded as {@link decodeName} does, so `caf\xc3\xa9` is `café` and `caf\xe9` the
 * Latin-1 name.
 */
export function unescapeName(text: string): string {
  if (!text.includes('\\')) return text;
  const bytes: Buffer[] = [];
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 0x5c) continue;
    const next = text[i + 1];
    let byte: number | undefined;
    let skip = 0;
    if (next === '\\') {
      byte = 0x5c;
      skip = 1;
    } else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      byte = Number.parseInt(text.slice(i + 2, i + 4), 16);
      skip = 3;
    }
    if (byte === undefined) continue;
    bytes.push(encodeName(text.slice(run, i)), Buffer.of(byte));
    i += skip;
    run = i + 1;
  }
  bytes.push(encodeName(text.slice(run)));
  return decodeName(Buffer.concat(bytes));
}
