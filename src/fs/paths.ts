/**
 * Split a path into segments, confined to the root: empty and `.` segments vanish and `..`
 * never climbs above the root (like securejoin's lexical step). Leading `/` is optional.
 */
export function splitPath(path: string): string[] {
  if (
    !path.includes('..') &&
    !path.includes('//') &&
    !path.includes('./') &&
    !path.endsWith('/.')
  ) {
    const p = path.charCodeAt(0) === 0x2f ? path.slice(1) : path;
    const q = p.endsWith('/') ? p.slice(0, -1) : p;
    return q === '' || q === '.' ? [] : q.split('/');
  }
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return out;
}

/**
 * `path` without its leading and trailing `/` when it needs no further normalisation (no
 * empty, `.` or `..` segments), else `undefined` (then use {@link splitPath}). Tar entry
 * names are nearly always plain, and this avoids an array per entry on the hot path.
 */
export function plainRelative(path: string): string | undefined {
  if (path.includes('..') || path.includes('//') || path.includes('./') || path.endsWith('/.')) {
    return undefined;
  }
  const p = path.charCodeAt(0) === 0x2f ? path.slice(1) : path;
  const q = p.endsWith('/') ? p.slice(0, -1) : p;
  return q === '.' ? '' : q;
}

/** Absolute path of segments: `[]` is `/`. */
export function joinPath(segments: readonly string[]): string {
  return `/${segments.join('/')}`;
}

/** `parent` joined with one child name, both absolute-path style. */
export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}
