import type { FsEntry } from './node.js';

/** What about a path differs between two filesystems. */
export type ChangedField = 'type' | 'size' | 'mode' | 'owner' | 'link' | 'content';

/** A path present on both sides with differences. */
export interface ChangedPath {
  path: string;
  fields: ChangedField[];
  before: FsEntry;
  after: FsEntry;
}

/** The result of {@link diffTrees}. */
export interface TreeDiff {
  /** Paths only in `b`, sorted. */
  added: FsEntry[];
  /** Paths only in `a`, sorted. */
  removed: FsEntry[];
  /** Paths in both with differences, sorted. */
  changed: ChangedPath[];
}

/** Options for {@link diffTrees}. */
export interface DiffTreesOptions {
  /**
   * A content digest for a regular file, when known (e.g. from a previous hashing pass).
   * Content is compared only when this is given; it is asked only for the pairs
   * {@link contentVerdict} cannot decide, and compared when both sides return one.
   */
  contentDigest?: (entry: FsEntry, side: 'a' | 'b') => string | undefined;
}

/**
 * Whether two regular files at one path have different content, as far as their entries
 * tell: `differs` when their sizes differ, `same` when both come from the same layer
 * (the same layer digest: the path's last entry in that one tar, so the same bytes, as
 * dive takes them), else `compare` (their contents must be hashed). The one rule of
 * `diff`, whether the entries come from reading the layers or from a seek index: only
 * `compare` pairs cost a content read.
 */
export function contentVerdict(before: FsEntry, after: FsEntry): 'same' | 'differs' | 'compare' {
  if (before.size !== after.size) return 'differs';
  if (before.layerDigest !== '' && before.layerDigest === after.layerDigest) return 'same';
  return 'compare';
}

/** Whether `diffTrees` compares the contents of these two entries at all. */
const bothFiles = (before: FsEntry, after: FsEntry) =>
  before.type === 'file' && after.type === 'file';

/**
 * The pairs of regular files at one path whose contents must be hashed to diff `a` and
 * `b` ({@link contentVerdict} says `compare`): what a caller without every digest at hand
 * reads before {@link diffTrees}.
 */
export function contentPairs(a: Walkable, b: Walkable): Array<{ before: FsEntry; after: FsEntry }> {
  const before = new Map<string, FsEntry>();
  for (const e of a.walk('/')) if (e.type === 'file') before.set(e.path, e);
  const pairs: Array<{ before: FsEntry; after: FsEntry }> = [];
  for (const after of b.walk('/')) {
    const old = before.get(after.path);
    if (old && bothFiles(old, after) && contentVerdict(old, after) === 'compare') {
      pairs.push({ before: old, after });
    }
  }
  return pairs;
}

/** Anything that can walk its entries depth first with sorted siblings. */
export interface Walkable {
  walk(dir?: string): Iterable<FsEntry>;
}

/**
 * Structural difference between two filesystems: paths added, removed, and changed in
 * type, size, mode, owner (uid/gid), link target or content digest. mtimes and layer
 * positions are not compared: rebuilding an image changes them without changing files.
 */
export function diffTrees(a: Walkable, b: Walkable, options: DiffTreesOptions = {}): TreeDiff {
  const before = new Map<string, FsEntry>();
  for (const e of a.walk('/')) before.set(e.path, e);
  const result: TreeDiff = { added: [], removed: [], changed: [] };
  for (const after of b.walk('/')) {
    const old = before.get(after.path);
    if (old === undefined) {
      result.added.push(after);
      continue;
    }
    before.delete(after.path);
    const fields: ChangedField[] = [];
    if (old.type !== after.type) fields.push('type');
    if (old.type !== 'dir' && old.size !== after.size) fields.push('size');
    if (old.mode !== after.mode) fields.push('mode');
    if (old.uid !== after.uid || old.gid !== after.gid) fields.push('owner');
    if (old.linkname !== after.linkname) fields.push('link');
    if (options.contentDigest && bothFiles(old, after)) {
      const verdict = contentVerdict(old, after);
      if (verdict === 'differs') fields.push('content');
      else if (verdict === 'compare') {
        const da = options.contentDigest(old, 'a');
        const db = options.contentDigest(after, 'b');
        if (da !== undefined && db !== undefined && da !== db) fields.push('content');
      }
    }
    if (fields.length > 0) result.changed.push({ path: after.path, fields, before: old, after });
  }
  result.removed = [...before.values()];
  const byPath = (x: { path: string }, y: { path: string }) =>
    x.path < y.path ? -1 : x.path > y.path ? 1 : 0;
  result.added.sort(byPath);
  result.removed.sort(byPath);
  result.changed.sort(byPath);
  return result;
}
