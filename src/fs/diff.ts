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

/** A regular file on both sides (same path). */
export interface FilePair {
  path: string;
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
  /**
   * Regular files on both sides whose contents `sameContent` could not tell apart (it
   * answered undefined), in walk order; empty without `sameContent`.
   */
  unknownContent: FilePair[];
}

/** Options for {@link diffTrees}. */
export interface DiffTreesOptions {
  /**
   * Whether two regular files at one path hold the same bytes: true, false, or undefined
   * when that is not known (the pair is then listed in `unknownContent`). Asked only when
   * both sides are regular files. Without it contents are not compared.
   */
  sameContent?: (before: FsEntry, after: FsEntry) => boolean | undefined;
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
  const result: TreeDiff = { added: [], removed: [], changed: [], unknownContent: [] };
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
    if (options.sameContent && old.type === 'file' && after.type === 'file') {
      const same = options.sameContent(old, after);
      if (same === false) fields.push('content');
      else if (same === undefined)
        result.unknownContent.push({ path: after.path, before: old, after });
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
