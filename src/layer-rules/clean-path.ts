/** A path split into segments confined to the root, and whether `..` tried to leave it. */
export interface CleanPath {
  segs: string[];
  /** A `..` met at the root (and dropped there). */
  climbed: boolean;
}

/**
 * True when `path` needs no cleaning: relative, no empty, `.` or `..` segments, no
 * trailing slash. Tar entry names nearly always are, and checking is cheaper than
 * splitting (names such as `a..b` are cleaned the slow way, correctly).
 */
export function isPlainPath(path: string): boolean {
  return (
    path.length > 0 &&
    path.charCodeAt(0) !== 0x2f &&
    path.charCodeAt(path.length - 1) !== 0x2f &&
    path !== '.' &&
    !path.includes('..') &&
    !path.includes('//') &&
    !path.includes('./') &&
    !path.endsWith('/.')
  );
}

/**
 * Split `path` lexically, like Go's `filepath.Clean("/" + path)`: empty and `.` segments
 * vanish, `..` removes the segment before it and stops at the root. A leading `/` is
 * optional (paths are always relative to the image root). `''`, `/`, `.` give `[]`.
 */
export function cleanPath(path: string): CleanPath {
  if (isPlainPath(path)) return { segs: path.split('/'), climbed: false };
  let climbed = false;
  const segs: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (segs.length === 0) climbed = true;
      else segs.pop();
    } else segs.push(seg);
  }
  return { segs, climbed };
}

/** `parent/name` of two root-relative paths (`''` is the root). */
export function joinRelative(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}
