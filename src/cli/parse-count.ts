import { InvalidArgumentError } from '../errors/index.js';

/** Parse a positive integer option value. */
export function parseCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError(`expected a positive whole number, got "${value}"`);
  }
  return Number(value);
}

/** Parse a file descriptor number (0 and up). */
export function parseFd(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 2 ** 31 - 1) {
    throw new InvalidArgumentError(`expected a file descriptor number, got "${value}"`);
  }
  return Number(value);
}
