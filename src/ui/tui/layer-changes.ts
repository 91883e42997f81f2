import { ADDED, type CompactTree, DELETED, MODIFIED, TreeBuilder } from './compact-tree.js';

/**
 * What layer `index` changed, comparing the merged trees below it (`before`) and through
 * it (`after`), both built by the layer rules: a path it wrote is added when nothing was
 * there below and modified otherwise (a directory only when its mode or owner changed); a
 * path there below and gone now is deleted. The added and modified are marked in
 * `after.change`; the tree returned holds what the layer changed (with the directories
 * above each change, unmarked unless changed themselves), the deleted with their fields
 * from `before`. Both trees are walked side by side, their sorted children merged by
 * name: no path is looked up.
 */
export function compareLayers(before: CompactTree, after: CompactTree, index: number): CompactTree {
  const own = new TreeBuilder(after.names);
  const names = after.names.names;
  /*
   * The directories above the node being visited that the layer's tree has not needed
   * yet: each is added, with those above it, when a change below it is.
   */
  const pending: Array<{ tree: CompactTree; node: number; out: number }> = [
    { tree: after, node: 0, out: 0 },
  ];
  const place = (): number => {
    let parent = 0;
    for (const p of pending) {
      if (p.out < 0) p.out = own.copy(parent, p.tree, p.node, p.tree.change[p.node]!);
      parent = p.out;
    }
    return parent;
  };
  const enter = (tree: CompactTree, node: number, out: number) => {
    pending.push({ tree, node, out });
  };
  const leave = () => pending.pop();

  /** `b` (of before) is gone: it and everything below it are deleted. */
  const deleted = (b: number) => {
    const out = own.copy(place(), before, b, DELETED);
    if (!before.isDir(b)) return;
    enter(before, b, out);
    for (const c of before.childrenOf(b)) deleted(c);
    leave();
  };
  /** `a` (of after) has nothing below it in before. */
  const added = (a: number) => {
    let out = -1;
    if (after.layer[a] === index) {
      after.change[a] = ADDED;
      out = own.copy(place(), after, a, ADDED);
    }
    if (!after.isDir(a)) return;
    enter(after, a, out);
    for (const c of after.childrenOf(a)) added(c);
    leave();
  };
  /** `b` and `a` are the same path. */
  const both = (b: number, a: number) => {
    let out = -1;
    const dirs = before.isDir(b) && after.isDir(a);
    if (
      after.layer[a] === index &&
      (!dirs ||
        before.mode[b] !== after.mode[a] ||
        before.uid[b] !== after.uid[a] ||
        before.gid[b] !== after.gid[a])
    ) {
      after.change[a] = MODIFIED;
      out = own.copy(place(), after, a, MODIFIED);
    }
    if (dirs) {
      enter(after, a, out);
      children(b, a);
      leave();
      return;
    }
    if (after.isDir(a)) {
      enter(after, a, out);
      for (const c of after.childrenOf(a)) added(c);
      leave();
    }
    // A directory replaced by something else: it went, with everything below it.
    if (before.isDir(b)) deleted(b);
  };
  const children = (b: number, a: number) => {
    const bs = before.childrenOf(b);
    const as = after.childrenOf(a);
    let i = 0;
    let j = 0;
    while (i < bs.length || j < as.length) {
      const bi = bs[i];
      const aj = as[j];
      if (aj === undefined) deleted(bs[i++]!);
      else if (bi === undefined) added(as[j++]!);
      else if (before.name[bi] === after.name[aj]) both(bs[i++]!, as[j++]!);
      else if (names[before.name[bi]!]! < names[after.name[aj]!]!) deleted(bs[i++]!);
      else added(as[j++]!);
    }
  };
  children(0, 0);
  return own.finish();
}
