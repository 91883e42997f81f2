import { ESTARGZ_FOOTER_SIZE, LEGACY_FOOTER_SIZE } from './constants.js';

const FEXTRA = 0x04;

function tocOffsetOf(field: Buffer): number | undefined {
  const text = field.toString('latin1');
  if (!/^[0-9a-f]{16}STARGZ$/.test(text)) return undefined;
  const offset = Number.parseInt(text.slice(0, 16), 16);
  return Number.isSafeInteger(offset) ? offset : undefined;
}

/**
 * The TOC offset from the last bytes of a layer: the 51-byte eStargz footer (an empty gzip
 * member whose extra field holds subfield `SG` = `%016xSTARGZ`) or, failing that, the
 * 47-byte stargz footer (the same text as the whole extra field). `undefined` when `tail`
 * ends with neither.
 */
export function parseEstargzFooter(
  tail: Buffer,
): { tocOffset: number; footerSize: number } | undefined {
  if (tail.length >= ESTARGZ_FOOTER_SIZE) {
    const f = tail.subarray(tail.length - ESTARGZ_FOOTER_SIZE);
    if (
      f[0] === 0x1f &&
      f[1] === 0x8b &&
      f[2] === 8 &&
      (f[3]! & FEXTRA) !== 0 &&
      f.readUInt16LE(10) === 26 &&
      f[12] === 0x53 &&
      f[13] === 0x47 &&
      f.readUInt16LE(14) === 22
    ) {
      const tocOffset = tocOffsetOf(f.subarray(16, 38));
      if (tocOffset !== undefined) return { tocOffset, footerSize: ESTARGZ_FOOTER_SIZE };
    }
  }
  if (tail.length >= LEGACY_FOOTER_SIZE) {
    const f = tail.subarray(tail.length - LEGACY_FOOTER_SIZE);
    if (
      f[0] === 0x1f &&
      f[1] === 0x8b &&
      f[2] === 8 &&
      (f[3]! & FEXTRA) !== 0 &&
      f.readUInt16LE(10) === 22
    ) {
      const tocOffset = tocOffsetOf(f.subarray(12, 34));
      if (tocOffset !== undefined) return { tocOffset, footerSize: LEGACY_FOOTER_SIZE };
    }
  }
  return undefined;
}

/** The 51-byte eStargz footer pointing at a TOC at `tocOffset`. */
export function estargzFooter(tocOffset: number): Buffer {
  const footer = Buffer.alloc(ESTARGZ_FOOTER_SIZE);
  // gzip header: magic, deflate, FEXTRA, mtime 0, XFL 0, OS unknown (as Go's gzip writes)
  footer.set([0x1f, 0x8b, 8, FEXTRA, 0, 0, 0, 0, 0, 0xff], 0);
  footer.writeUInt16LE(26, 10);
  footer.set([0x53, 0x47], 12);
  footer.writeUInt16LE(22, 14);
  footer.write(`${tocOffset.toString(16).padStart(16, '0')}STARGZ`, 16, 'latin1');
  // An empty stored final block, then CRC32 and ISIZE of nothing (both 0).
  footer.set([0x01, 0x00, 0x00, 0xff, 0xff], 38);
  return footer;
}
