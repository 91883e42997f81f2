import { InvalidArgumentError } from '../errors/index.js';

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3600_000,
  d: 86_400_000,
};

/** `500ms`, `90s`, `10m`, `1h`, `2d` or `0` as milliseconds (a unit is required otherwise). */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|[smhd]?)\s*$/.exec(text);
  if (!m || (m[2] === '' && Number(m[1]) !== 0)) {
    throw new InvalidArgumentError(
      `invalid duration "${text}": use e.g. 500ms, 90s, 10m, 1h, 2d or 0`,
    );
  }
  return Math.round(Number(m[1]) * (DURATION_UNITS[m[2] as string] ?? 0));
}
