import { InvalidArgumentError } from '../errors/index.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/**
 * Parse a byte count as users type it: `262144`, `256K`, `256KiB`, `1M`, `1MiB`, `1.5M`,
 * `2G`. Units are binary (K = 1024, also for `KB`: the sizes users give, peek windows and
 * blob limits, are about memory and transfers, not disks); the case does not matter. The
 * result must be a whole, positive number of bytes within `Number.MAX_SAFE_INTEGER`.
 *
 * @throws InvalidArgumentError for anything else (`''`, `-1`, `0`, `1.5` bytes, `12Q`).
 */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new InvalidArgumentError(
      `invalid size "${text}": expected a number of bytes with an optional unit K, M or G (binary, e.g. 256K, 1MiB)`,
    );
  }
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new InvalidArgumentError(
      `invalid size "${text}": must be a positive whole number of bytes`,
    );
  }
  return bytes;
}
