import { InvalidReferenceError, UnsupportedError } from '../errors/index.js';
import { parseReference, type Reference } from '../ref/index.js';

/** Where an image is or goes, parsed from a string (see {@link parsePlace}). */
export type Place =
  | {
      kind: 'registry';
      ref: Reference;
      /**
       * Written `docker://REF`: the registry only. A bare reference may be read from the
       * local store when it holds the image (`openSource`'s `preferStore`).
       */
      explicit: boolean;
      /**
       * A bare reference as typed (`alpine:3`): with registries.conf, a short name is
       * resolved through its aliases and search registries (`resolvePlaceReference`).
       */
      typed?: string;
    }
  | { kind: 'oci'; path: string; tag?: string }
  | { kind: 'oci-archive'; path: string; tag?: string }
  | { kind: 'docker-archive'; path: string; ref?: string }
  | { kind: 'store'; ref: Reference };

/** skopeo transports ocipeek does not speak; named so they are not read as references. */
const UNSUPPORTED = new Set([
  'dir',
  'containers-storage',
  'docker-daemon',
  'ostree',
  'sif',
  'tarball',
]);

const PREFIXES = ['oci:', 'oci-archive:', 'docker-archive:', 'store:', 'docker://'] as const;

/** Split `PATH[:SUFFIX]` at the first `:`, as skopeo does (paths cannot contain `:`). */
function splitPathSuffix(rest: string): { path: string; suffix?: string } {
  const colon = rest.indexOf(':');
  if (colon < 0) return { path: rest };
  return { path: rest.slice(0, colon), suffix: rest.slice(colon + 1) || undefined };
}

/**
 * Parse a place, the one way every command and library call names one: `docker://REF`
 * or a bare reference (a registry), `oci:DIR[:TAG]`,
 * `oci-archive:FILE[:TAG]`, `docker-archive:FILE[:REF]` and `store:REF` (ocipeek's local
 * store). The path ends at the first `:`, as in skopeo; the rest is the TAG or REF
 * (which may itself contain `:`, as in `docker-archive:a.tar:app:1.0`).
 */
export function parsePlace(input: string): Place {
  if (input.startsWith('docker://')) {
    return { kind: 'registry', ref: parseReference(input), explicit: true };
  }
  if (input.startsWith('store:')) {
    return { kind: 'store', ref: parseReference(input.slice('store:'.length)) };
  }
  for (const kind of ['oci', 'oci-archive', 'docker-archive'] as const) {
    const prefix = `${kind}:`;
    if (!input.startsWith(prefix)) continue;
    const { path, suffix } = splitPathSuffix(input.slice(prefix.length));
    if (path === '') throw new InvalidReferenceError(input, `${kind}: needs a path`);
    if (kind === 'docker-archive') return { kind, path, ref: suffix };
    return { kind, path, tag: suffix };
  }
  if (looksLikePath(input)) {
    throw new InvalidReferenceError(
      input,
      `a path is not an image reference: write oci:${input} for an OCI layout folder, oci-archive:${input} or docker-archive:${input} for a tar file`,
    );
  }
  const scheme = /^([a-z-]+):/.exec(input)?.[1];
  if (scheme && UNSUPPORTED.has(scheme)) {
    throw new UnsupportedError(
      `the ${scheme}: transport is not supported (use ${PREFIXES.join(' ')} or a registry reference)`,
    );
  }
  return { kind: 'registry', ref: parseReference(input), explicit: false, typed: input };
}

/**
 * A file system path rather than a reference: absolute, or relative with `./`, `../`,
 * `~/` (references never start with `/` or `.`).
 */
function looksLikePath(input: string): boolean {
  return /^(\/|\.\.?(\/|$)|~\/)/.test(input);
}

/** The place as a string `parsePlace` reads back. */
export function formatPlace(place: Place): string {
  switch (place.kind) {
    case 'registry':
      return place.explicit ? `docker://${place.ref}` : place.ref.toString();
    case 'store':
      return `store:${place.ref}`;
    case 'docker-archive':
      return `docker-archive:${place.path}${place.ref ? `:${place.ref}` : ''}`;
    default:
      return `${place.kind}:${place.path}${place.tag ? `:${place.tag}` : ''}`;
  }
}
