import type { FsNode } from '../fs/node.js';

/**
 * What is known about a tree built from the upper layers of an image only, over a base
 * (the layers below) that has not been read. `cat` reads layers from the top and stops at
 * the first one that decides the path; this is how it tells decided from not yet.
 *
 * - The root, and every directory a layer put over a name the base may hold, are
 *   *incomplete*: the base may add children to them. A name missing from an incomplete
 *   directory is unknown, unless a whiteout or a removal left a *tombstone* for it.
 * - Directories made fresh (over nothing, or over a file), emptied by an opaque marker or
 *   pruned by a whiteout are complete: a missing name is missing.
 * - An entry whose own placement depends on the unknown base (its parent path runs
 *   through an unknown name) cannot be placed; it *taints* its last name, since that is
 *   the only name it can write, replace or remove, wherever it lands. A lookup that meets
 *   a tainted name is undecided, and so is every negative answer while anything is
 *   unplaced (an unplaced entry may create the missing directories). An unplaced opaque
 *   marker may empty any directory: it taints everything.
 */
export class Knowledge {
  private readonly incomplete = new Set<FsNode>();
  private readonly tombstones = new Map<FsNode, Set<string>>();
  private readonly taintedNames = new Set<string>();
  private taintedAll = false;

  constructor(root: FsNode) {
    this.incomplete.add(root);
  }

  /** Whether `name`, absent from `dir`'s children, may still exist in the unknown base. */
  unknownSlot(dir: FsNode, name: string): boolean {
    return this.incomplete.has(dir) && !this.tombstones.get(dir)?.has(name);
  }

  /** `dir` holds whatever the base had under its name, besides its known children. */
  markIncomplete(dir: FsNode): void {
    this.incomplete.add(dir);
  }

  /** Every child of `dir` is known now (opaque marker, whiteout pruning). */
  markComplete(dir: FsNode): void {
    this.incomplete.delete(dir);
    this.tombstones.delete(dir);
  }

  /** `name` is known to be gone from `dir` (matters only while `dir` is incomplete). */
  tombstone(dir: FsNode, name: string): void {
    if (!this.incomplete.has(dir)) return;
    let names = this.tombstones.get(dir);
    if (names === undefined) {
      names = new Set();
      this.tombstones.set(dir, names);
    }
    names.add(name);
  }

  /** An entry that wrote, replaced or removed something named `name` could not be placed. */
  taint(name: string): void {
    this.taintedNames.add(name);
  }

  /** An entry that could change any directory could not be placed. */
  taintAll(): void {
    this.taintedAll = true;
  }

  /** Whether what is known about things named `name` may be wrong. */
  isTainted(name: string): boolean {
    return this.taintedAll || (this.taintedNames.size > 0 && this.taintedNames.has(name));
  }

  /** Whether any entry could not be placed (negative answers are then undecided). */
  get hasUnplaced(): boolean {
    return this.taintedAll || this.taintedNames.size > 0;
  }
}
