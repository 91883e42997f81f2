import { InvalidArgumentError } from '../../errors/index.js';
import { parseReference } from '../../ref/index.js';
import { escapeName, unescapeName } from '../../tar/name-codec.js';

/** An image reference and a path inside it, as a URL names them. */
export interface RefAndPath {
  /** The normalised reference (`registry/repository:tag` or `@digest`). */
  ref: string;
  /** An absolute path in the image (`/` for the root), as the filesystem view takes it. */
  path: string;
}

/**
 * Split the segments after `/image/` (or `/raw/`, `/api/dir/`...) into a reference and a
 * path: `127.0.0.1:5000/lazy/app:v1/etc/motd` is `127.0.0.1:5000/lazy/app:v1` and
 * `/etc/motd`. The reference ends at the first segment after the registry host that holds
 * a tag or digest (`:` or `@`); without one it is all reference (`:latest`). Path
 * segments are the CLI's escaped names (`\xNN` for bytes that are not UTF-8).
 */
export function splitRefAndPath(rest: string): RefAndPath {
  const segments = rest
    .split('/')
    .filter((s) => s !== '')
    .map(decodeSegment);
  if (segments.length === 0) throw new InvalidArgumentError('the URL names no image');
  const first = segments[0]!;
  const hasHost = first.includes('.') || first.includes(':') || first === 'localhost';
  let end = segments.length;
  for (let i = hasHost ? 1 : 0; i < segments.length; i++) {
    if (segments[i]!.includes(':') || segments[i]!.includes('@')) {
      end = i + 1;
      break;
    }
  }
  const ref = parseReference(segments.slice(0, end).join('/')).toString();
  const path = `/${segments.slice(end).map(unescapeName).join('/')}`;
  return { ref, path };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidArgumentError(`bad percent-encoding in the URL segment "${segment}"`);
  }
}

/** A reference in a URL: `/` kept between its parts, `:` and `@` kept as they are. */
export function refUrlPart(ref: string): string {
  return ref
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%40/g, '@'))
    .join('/');
}

/** An image path in a URL: each name escaped as the CLI prints it, then percent-encoded. */
export function pathUrlPart(path: string): string {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => encodeURIComponent(escapeName(s)))
    .join('/');
}

/** The URL of a view of `ref` (`image`, `layers`, `raw`, or an API route) at `path`. */
export function imageUrl(view: string, ref: string, path = '/'): string {
  const p = pathUrlPart(path);
  return `/${view}/${refUrlPart(ref)}${p ? `/${p}` : ''}`;
}
