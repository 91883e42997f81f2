/**
 * `date.toISOString()`, built from the UTC fields. Why not `toISOString` itself: in Node
 * 20 the first Date formatting of a process (`toISOString`, `JSON.stringify` of a Date)
 * loads the local time zone through ICU (`/etc/localtime`, the zone rules, date-format
 * data), ~1 ms of CPU and 0.9-1.7 MB of the node binary's pages made resident, although an
 * ISO string needs no zone. The UTC getters do not load it. A pull writes one timestamp
 * (its tag-check record), and its peak RSS is held to 64 MB (bench/ANALYSIS.md, issue 15).
 */
export function isoTime(date: Date): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('Invalid time value');
  const year = date.getUTCFullYear();
  // toISOString's form outside 0000-9999: six digits with a sign.
  const y =
    year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? '-' : '+'}${pad(Math.abs(year), 6)}`;
  return (
    `${y}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}` +
    `T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}` +
    `.${pad(date.getUTCMilliseconds(), 3)}Z`
  );
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
