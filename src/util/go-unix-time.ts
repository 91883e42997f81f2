import { isoTime } from './iso-time.js';

/**
 * A Unix time as Go's `time.Time` marshals it (JSON or text) in UTC: RFC 3339 with the
 * nanoseconds there are, trailing zeros of the fraction cut. What containers/storage
 * writes in a zstd:chunked TOC and soci in a zTOC, so one rule serves both.
 *
 * `seconds` is a number, or the decimal text of a PAX time record (`TarEntry.paxTimes`):
 * the text keeps nanoseconds that a double near today cannot (it resolves about 0.25 µs),
 * and containers/storage compares TOC times with the tar's to the nanosecond. A number's
 * fraction is taken to the microsecond. Go refuses years outside 0-9999; this gives ''.
 */
export function goUnixTime(seconds: number | string): string {
  let whole: number;
  let nanos: number;
  if (typeof seconds === 'string') {
    const m = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(seconds);
    if (!m) throw new RangeError(`${JSON.stringify(seconds)} is not a decimal time`);
    // Go's parsePAXTime: the fraction cut (not rounded) to nine digits, signed as the whole.
    whole = Number(m[2]);
    nanos = Number((m[3] ?? '').slice(0, 9).padEnd(9, '0'));
    if (m[1] === '-') {
      whole = -whole;
      if (nanos > 0) {
        whole -= 1;
        nanos = 1e9 - nanos;
      }
    }
  } else {
    whole = Math.floor(seconds);
    let micros = Math.round((seconds - whole) * 1e6);
    if (micros === 1e6) {
      whole += 1;
      micros = 0;
    }
    nanos = micros * 1000;
  }
  const date = new Date(whole * 1000);
  if (!Number.isFinite(date.getTime())) return '';
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) return '';
  const fraction = nanos > 0 ? `.${String(nanos).padStart(9, '0').replace(/0+$/, '')}` : '';
  return `${isoTime(date).slice(0, -5)}${fraction}Z`;
}
