/** An inclusive byte range of a blob. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Interpret a `Range` header against a blob of `size` bytes.
 *
 * Returns `undefined` when the whole blob should be sent: no header, a unit other than
 * `bytes`, or several ranges (RFC 9110 lets a server ignore Range; multipart answers buy
 * registry clients nothing). Returns `'unsatisfiable'` for a malformed `bytes=` range or
 * one outside the blob, which is answered with 416.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (!/^bytes=/i.test(trimmed)) return undefined;
  const spec = trimmed.slice('bytes='.length).trim();
  if (spec.includes(',')) return undefined;
  const m = /^(\d*)-(\d*)$/.exec(spec);
  if (!m || (m[1] === '' && m[2] === '')) return 'unsatisfiable';
  const first = m[1] === '' ? undefined : Number(m[1]);
  const last = m[2] === '' ? undefined : Number(m[2]);
  if (first === undefined) {
    // Suffix form "-N": the last N bytes.
    const n = last as number;
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  if (!Number.isSafeInteger(first) || first >= size) return 'unsatisfiable';
  if (last === undefined) return { start: first, end: size - 1 };
  if (!Number.isSafeInteger(last) || last < first) return 'unsatisfiable';
  return { start: first, end: Math.min(last, size - 1) };
}
