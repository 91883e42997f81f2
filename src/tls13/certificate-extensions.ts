/**
 * The extensions of a DER X.509 certificate, read with a small DER walker: Node's
 * `X509Certificate` gives no extension list, criticality or path length, and those few
 * fields do not justify an ASN.1 dependency. Only the certificate's outer structure is
 * walked (TBSCertificate's fields up to `[3] extensions`); Node has already parsed the
 * whole certificate, so a walk that fails means a certificate to refuse.
 */

/** One extension: its OID (dotted), criticality and the DER inside `extnValue`. */
export interface CertificateExtension {
  oid: string;
  critical: boolean;
  value: Buffer;
}

interface Tlv {
  tag: number;
  /** First content byte. */
  start: number;
  /** One past the last content byte. */
  end: number;
}

class DerError extends Error {}

function readTlv(der: Buffer, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new DerError('truncated');
  const tag = der[at]!;
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > limit) throw new DerError('bad length');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  const end = start + length;
  if (end > limit) throw new DerError('truncated');
  return { tag, start, end };
}

function children(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const child = readTlv(der, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

function oidText(bytes: Buffer): string {
  const parts: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else {
        parts.push(value);
      }
      value = 0;
    }
  }
  return parts.join('.');
}

/** The extensions of `der` (a certificate), in order; throws on a structure it cannot walk. */
export function certificateExtensions(der: Buffer): CertificateExtension[] {
  try {
    const cert = readTlv(der, 0, der.length);
    const tbs = children(der, cert)[0];
    if (cert.tag !== 0x30 || tbs?.tag !== 0x30) throw new DerError('not a certificate');
    const wrapper = children(der, tbs).find((c) => c.tag === 0xa3);
    if (!wrapper) return [];
    const list = children(der, wrapper)[0];
    if (list?.tag !== 0x30) throw new DerError('bad extensions');
    return children(der, list).map((ext) => {
      const [id, second, third] = children(der, ext);
      if (id?.tag !== 0x06) throw new DerError('bad extension');
      const critical = second?.tag === 0x01 && der[second.start] !== 0;
      const value = second?.tag === 0x04 ? second : third;
      if (value?.tag !== 0x04) throw new DerError('bad extension value');
      return {
        oid: oidText(der.subarray(id.start, id.end)),
        critical,
        value: der.subarray(value.start, value.end),
      };
    });
  } catch (err) {
    if (err instanceof DerError) throw new Error(`certificate extensions: ${err.message}`);
    throw err;
  }
}

/** BasicConstraints (2.5.29.19) `pathLenConstraint`, if the extension sets one. */
export function pathLengthConstraint(
  extensions: readonly CertificateExtension[],
): number | undefined {
  const ext = extensions.find((e) => e.oid === '2.5.29.19');
  if (!ext) return undefined;
  const seq = readTlv(ext.value, 0, ext.value.length);
  const length = children(ext.value, seq).find((c) => c.tag === 0x02);
  if (!length) return undefined;
  if (length.end - length.start > 4) return Number.MAX_SAFE_INTEGER;
  let n = 0;
  for (let i = length.start; i < length.end; i++) n = n * 256 + ext.value[i]!;
  return n;
}
