import { InvalidArgumentError } from '../errors/index.js';

/** Commander's collector for an option given more than once (`--root A --root B`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `--annotation KEY=VALUE` options (repeatable) as a record. */
export function parseAnnotations(pairs: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`--annotation expects KEY=VALUE, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
