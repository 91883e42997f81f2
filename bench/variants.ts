import { statSync } from 'node:fs';

/**
 * Where a case's files go: tmpfs (memory) or the disk the corpus cache is on. For ocipeek
 * this is its store, its output folder and its HOME (the V8 code cache lives there); for
 * peers their output folders.
 */
export type Medium = 'tmpfs' | 'disk';

/**
 * The environment every contender runs in: `user` is the bench's own environment as the
 * shell gave it (NODE_EXTRA_CA_CERTS, NODE_OPTIONS and all); `clean` is the same without
 * any `NODE_*` variable.
 */
export type EnvMode = 'user' | 'clean';

/** One of the four ways each case can run. */
export interface Variant {
  medium: Medium;
  env: EnvMode;
}

/** All four, in the order the report shows them. */
export const ALL_VARIANTS: readonly Variant[] = [
  { medium: 'tmpfs', env: 'user' },
  { medium: 'disk', env: 'user' },
  { medium: 'tmpfs', env: 'clean' },
  { medium: 'disk', env: 'clean' },
];

/** `tmpfs/user` and the like: how variants are named in options, logs and reports. */
export function variantId(v: Variant): string {
  return `${v.medium}/${v.env}`;
}

/** Parse `tmpfs/user,disk/clean` (or `all`) into variants; throws on a bad name. */
export function parseVariants(text: string): Variant[] {
  if (text === 'all') return [...ALL_VARIANTS];
  return text.split(',').map((name) => {
    const v = ALL_VARIANTS.find((x) => variantId(x) === name.trim());
    if (!v) {
      throw new Error(`unknown variant "${name}": use ${ALL_VARIANTS.map(variantId).join(', ')}`);
    }
    return v;
  });
}

/** The variants of `wanted` that are in `allowed`, in report order. */
export function pickVariants(allowed: readonly Variant[], wanted?: readonly Variant[]): Variant[] {
  const ids = new Set((wanted ?? allowed).map(variantId));
  return ALL_VARIANTS.filter((v) => ids.has(variantId(v)));
}

/** The shell's environment when the bench started, before anything changed it. */
const USER_ENV: Readonly<NodeJS.ProcessEnv> = { ...process.env };

/** The environment for `mode`, plus `extra` (HOME and the like). */
export function envFor(mode: EnvMode, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...USER_ENV, ...extra };
  if (mode === 'clean') {
    for (const name of Object.keys(env)) if (name.startsWith('NODE_')) delete env[name];
  }
  return env;
}

/**
 * The `NODE_*` variables of the user environment, for the report: values as set, and for a
 * variable naming a file (NODE_EXTRA_CA_CERTS) that file's size.
 */
export function nodeVariables(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(USER_ENV)) {
    if (!name.startsWith('NODE_') || value === undefined) continue;
    let size = '';
    if (value.startsWith('/')) {
      try {
        size = ` (${statSync(value).size} bytes)`;
      } catch {
        size = ' (missing)';
      }
    }
    out[name] = `${value}${size}`;
  }
  return out;
}
