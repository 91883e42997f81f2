import { InvalidManifestError } from '../../errors/index.js';

/*
 * Timestamps as Go's time.Time reads and writes them in JSON: RFC 3339 in, RFC 3339 with
 * nanoseconds out (trailing zeros of the fraction dropped, a zero offset written `Z`,
 * any other offset kept). skopeo re-encodes image configs this way, so a config's
 * `created` can change spelling (`.500000000Z` → `.5Z`, `+00:00` → `Z`).
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

function daysIn(month: number, year: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** A time as Go's `time.Time.MarshalJSON` writes what `UnmarshalJSON` read from `text`. */
export function goTimeText(text: string): string {
  const m = RFC3339.exec(text);
  if (!m) throw new InvalidManifestError(`time ${JSON.stringify(text)} is not RFC 3339`);
  const [, year, month, day, hour, minute, second, fraction, zone] = m as unknown as string[];
  if (
    Number(month) < 1 ||
    Number(month) > 12 ||
    Number(day) < 1 ||
    Number(day) > daysIn(Number(month), Number(year)) ||
    Number(hour) > 23 ||
    Number(minute) > 59 ||
    Number(second) > 59
  ) {
    throw new InvalidManifestError(`time ${JSON.stringify(text)} is out of range`);
  }
  // Go keeps nanoseconds: digits past the ninth are dropped, trailing zeros not written.
  const nanos = (fraction ?? '').slice(0, 9).replace(/0+$/, '');
  const offset = zone === 'Z' || /^[+-]00:00$/.test(zone as string) ? 'Z' : zone;
  return `${year}-${month}-${day}T${hour}:${minute}:${second}${nanos ? `.${nanos}` : ''}${offset}`;
}
