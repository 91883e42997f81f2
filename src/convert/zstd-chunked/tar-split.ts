import { isUtf8 } from 'node:buffer';
import { encodeName } from '../../tar/index.js';

/*
 * The tar-split record of a layer (github.com/vbatts/tar-split, storage.NewJSONPacker), as
 * containers/storage stores it in a zstd:chunked layer: one JSON document a line, in tar
 * order, each raw run of header and padding bytes as a "segment" (type 2, the bytes in
 * base64) and each entry as a "file" (type 1: its name, size and the CRC-64/ISO of its
 * content), numbered by `position`. With the files' contents it rebuilds the tar byte for
 * byte, which is how c/storage recreates a partially pulled layer's tar (and its diff_id).
 * CRC-64/ISO is written here: the npm CRC-64 packages implement ECMA-182 or NVMe, not ISO.
 */

/** Go's `crc64.MakeTable(crc64.ISO)`, as [high, low] 32-bit halves per byte. */
const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let k = 0; k < 8; k++) {
    const odd = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi >>>= 1;
    if (odd) hi = (hi ^ 0xd8000000) >>> 0;
  }
  TABLE_HI[i] = hi;
  TABLE_LO[i] = lo;
}

/** CRC-64/ISO (Go's `hash/crc64` with the ISO table), fed piece by piece. */
export class Crc64Iso {
  private hi = 0xffffffff;
  private lo = 0xffffffff;

  update(bytes: Uint8Array): void {
    let { hi, lo } = this;
    for (let i = 0; i < bytes.length; i++) {
      const t = (lo ^ bytes[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ TABLE_LO[t]!;
      hi = (hi >>> 8) ^ TABLE_HI[t]!;
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
  }

  /** The 8 bytes Go's `Sum(nil)` gives: big endian. */
  digest(): Buffer {
    const out = Buffer.alloc(8);
    out.writeUInt32BE(~this.hi >>> 0, 0);
    out.writeUInt32BE(~this.lo >>> 0, 4);
    return out;
  }
}

/** Builds the tar-split lines; `take` hands over what is ready so far. */
export class TarSplitPacker {
  private position = 0;
  private lines: string[] = [];

  /** Raw tar bytes that are no entry's content. */
  segment(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.push(`{"type":2,"payload":"${bytes.toString('base64')}","position":${this.position}}`);
  }

  /**
   * An entry: `name` as the tar reader gives it (bytes that are not UTF-8 escaped, see
   * name-codec.ts), its header size and the CRC of its content (none when empty).
   */
  file(name: string, size: number, crc?: Buffer): void {
    const bytes = encodeName(name);
    // tar-split keeps a name that is not UTF-8 as bytes, in `name_raw`.
    const named = isUtf8(bytes)
      ? `"name":${JSON.stringify(bytes.toString('utf8'))},`
      : `"name_raw":"${bytes.toString('base64')}",`;
    const sized = size > 0 ? `"size":${size},` : '';
    const payload = crc ? `"${crc.toString('base64')}"` : 'null';
    this.push(`{"type":1,${named}${sized}"payload":${payload},"position":${this.position}}`);
  }

  /** The lines added since the last call, newline-ended, as UTF-8. */
  take(): Buffer {
    const out = Buffer.from(this.lines.join(''));
    this.lines = [];
    return out;
  }

  private push(line: string): void {
    this.lines.push(`${line}\n`);
    this.position++;
  }
}
