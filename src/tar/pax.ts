import { InvalidTarError } from '../errors/index.js';
import { decodeName } from './name-codec.js';

/**
 * PAX records, key to value. A value of `undefined` records an empty value in the archive:
 * for a header field the key counts as absent (the header's own field stands, as Go's
 * archive/tar keeps the USTAR value). An xattr key (`SCHILY.xattr.*`) with an empty value
 * is an xattr whose value is empty (`collectXattrs` in build-entry.ts): Go keeps the
 * record in `PAXRecords`, where moby and containerd take xattrs from and set it so.
 */
export type PaxRecords = Map<string, string | undefined>;

/** Keys whose values are raw bytes, kept as latin1 so every byte survives. */
function isBinaryKey(key: string): boolean {
  return key.startsWith('SCHILY.xattr.');
}

/**
 * Parse a PAX extended header body: records of the form `LEN KEY=VALUE\n` where LEN counts
 * the bytes of the whole record. Works on bytes, not characters, so UTF-8 values and binary
 * xattr values keep their exact length; text is decoded by {@link decodeName}, whatever
 * `hdrcharset` says (UTF-8 and raw bytes alike come out exact).
 */
export function parsePax(body: Buffer, at: number, into: PaxRecords = new Map()): PaxRecords {
  let i = 0;
  while (i < body.length) {
    if (body[i] === 0) break; // some writers pad the body with NULs
    let j = i;
    let len = 0;
    while (j < body.length && body[j]! >= 0x30 && body[j]! <= 0x39) {
      len = len * 10 + (body[j]! - 0x30);
      j++;
    }
    const end = i + len;
    if (j === i || body[j] !== 0x20 || end > body.length || end <= j + 1) {
      throw new InvalidTarError('malformed PAX record', at);
    }
    if (body[end - 1] !== 0x0a) throw new InvalidTarError('PAX record not ended by newline', at);
    const eq = body.indexOf(0x3d, j + 1);
    if (eq < 0 || eq >= end) throw new InvalidTarError('PAX record without "="', at);
    // Keys and text values through the name codec: `path` and `linkpath` may hold bytes
    // that are not UTF-8 (GNU tar writes them so, with `hdrcharset=BINARY`).
    const key = decodeName(body, j + 1, eq);
    const value =
      eq + 1 === end - 1
        ? undefined
        : isBinaryKey(key)
          ? body.toString('latin1', eq + 1, end - 1)
          : decodeName(body, eq + 1, end - 1);
    into.set(key, value);
    i = end;
  }
  return into;
}

/** A PAX decimal integer value (size, uid, gid, devmajor…). */
export function paxInteger(value: string, key: string, at: number): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidTarError(`PAX ${key} is not a number`, at);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidTarError(`PAX ${key} out of range`, at);
  return n;
}

/** A PAX time value: decimal seconds, possibly negative and fractional. */
export function paxTime(value: string, key: string, at: number): number {
  if (!/^-?[0-9]+(\.[0-9]*)?$/.test(value)) {
    throw new InvalidTarError(`PAX ${key} is not a time`, at);
  }
  return Number(value);
}
