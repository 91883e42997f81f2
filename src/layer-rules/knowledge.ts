import type { FsNode } from './fs-node.js';
import type { Chain } from './secure-join.js';

/** Stands for "any directory" in taints. */
const ANY = '\0';

/** When a name was last tainted, and (for removals) below which layer nodes are affected. */
interface Taint {
  time: number;
  /** Removals only affect nodes of lower layers; writes affect every node. */
  belowLayer: number;
}

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
 * - An entry whose parent path runs through something not certain (a name only the base
 *   may hold, a provisional directory, a tainted name) is *uncertain*: the base may hold
 *   a symlink on its way that sends it elsewhere (the `lib -> usr/lib` case), or a file.
 *   It is placed as if the unknown name were a directory: an implied directory is made
 *   there, *provisional*, as is what the entry makes; a lookup that steps onto anything
 *   provisional is undecided.
 * - Wherever an uncertain entry really lands, it can only change a name equal to its own,
 *   in a directory of the name its parent has when that parent is a directory an
 *   uncertain entry of the same spelling made with nothing changed since (then the real
 *   one is that directory), in any directory otherwise. It *taints* that (directory
 *   name, name) pair from then on: a lookup meeting the pair is undecided, unless what it
 *   meets there was placed after the taint. Whiteouts and opaque markers taint only
 *   nodes of layers below their own (what their own layer wrote stays). An uncertain
 *   hardlink has unknown content (and may be refused: its very name is undecided).
 * - On an uncertain entry's real way, MkdirAll may make directories whose names come
 *   from the base's symlinks: once one is placed, no name is known to be missing.
 */
export class Knowledge {
  private readonly incomplete = new Set<FsNode>();
  private readonly provisional = new Set<FsNode>();
  private readonly tombstones = new Map<FsNode, Set<string>>();
  /** name → directory name (or {@link ANY}) → what last tainted it. */
  private readonly taints = new Map<string, Map<string, Taint>>();
  /** Directory name (or {@link ANY}) → an opaque marker that may have emptied it. */
  private readonly emptied = new Map<string, Taint>();
  /** When each node was placed (entries counted from 1). */
  private readonly placedAt = new Map<FsNode, number>();
  /** Directories uncertain entries made: how they were spelled, and the generation then. */
  private readonly routes = new Map<FsNode, { route: string; generation: number }>();
  private now = 0;
  /** Bumped by every change that may alter an existing node, on disk as in the tree. */
  private generation = 0;
  private uncertainPlaced = false;

  constructor(root: FsNode) {
    this.incomplete.add(root);
  }

  /** Whether `name`, absent from `dir`'s children, may still exist in the unknown base. */
  unknownSlot(dir: FsNode, name: string): boolean {
    return this.incomplete.has(dir) && !this.tombstones.get(dir)?.has(name);
  }

  /** Whether the base may add children to `dir`. */
  isIncomplete(dir: FsNode): boolean {
    return this.incomplete.has(dir);
  }

  /** `dir` holds whatever the base had under its name, besides its known children. */
  markIncomplete(dir: FsNode): void {
    this.incomplete.add(dir);
  }

  /** `dir` was implied over a name the base may hold as anything (see the class notes). */
  markProvisional(dir: FsNode): void {
    this.incomplete.add(dir);
    this.provisional.add(dir);
  }

  /** Whether `node` stands where the base may hold something else. */
  isProvisional(node: FsNode): boolean {
    return this.provisional.has(node);
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

  /** The next entry is being applied. */
  nextEntry(): void {
    this.now++;
  }

  /** `node` was just placed (by an entry, or implied). */
  placed(node: FsNode): void {
    this.placedAt.set(node, this.now);
  }

  /** Something that existed (or may have, in the base) was replaced or removed. */
  changed(): void {
    this.generation++;
  }

  /** An uncertain entry spelled `route` (cleaned, relative) made or kept directory `dir`. */
  recordRoute(dir: FsNode, route: string): void {
    this.routes.set(dir, { route, generation: this.generation });
  }

  /**
   * Whether an entry whose parent is spelled `route` goes into the real directory `dir`
   * stands for: an uncertain entry spelled the same made it, and nothing changed since.
   */
  sameRoute(dir: FsNode, route: string): boolean {
    const r = this.routes.get(dir);
    return r !== undefined && r.route === route && r.generation === this.generation;
  }

  /**
   * An uncertain entry was placed: `name` may have been written in a directory named
   * `dirName` (`undefined`: in any directory), and MkdirAll may have made directories
   * anywhere on its way.
   */
  taintWrite(dirName: string | undefined, name: string): void {
    this.setTaint(dirName, name, Number.POSITIVE_INFINITY);
    this.uncertainPlaced = true;
  }

  /** An uncertain whiteout of layer `layer` may have removed `name` (see {@link taintWrite}). */
  taintRemoval(dirName: string | undefined, name: string, layer: number): void {
    this.setTaint(dirName, name, layer);
  }

  /** An uncertain opaque marker of layer `layer` may have emptied a directory named so. */
  taintChildren(dirName: string | undefined, layer: number): void {
    this.emptied.set(dirName ?? ANY, { time: this.now, belowLayer: layer });
  }

  private setTaint(dirName: string | undefined, name: string, belowLayer: number): void {
    let dirs = this.taints.get(name);
    if (dirs === undefined) {
      dirs = new Map();
      this.taints.set(name, dirs);
    }
    const key = dirName ?? ANY;
    const old = dirs.get(key);
    // A later write supersedes; a removal adds to a write only by being later.
    const below = old === undefined ? belowLayer : Math.max(old.belowLayer, belowLayer);
    dirs.set(key, { time: this.now, belowLayer: below });
  }

  /**
   * The name of the real directory an uncertain chain, spelled `route`, ends at when that
   * is sure (an uncertain entry spelled the same made that directory, and nothing changed
   * since); `undefined` (any directory) otherwise.
   */
  landingName(chain: Chain, route: string): string | undefined {
    const last = chain.nodes[chain.nodes.length - 1];
    if (last?.type !== 'dir' || !this.sameRoute(last, route)) return undefined;
    return chain.names[chain.names.length - 1];
  }

  /**
   * Whether a hardlink's target may be something else than `target` (found as
   * `targetName` in `targetDir` at the end of `chain`, or not found).
   */
  unknownTarget(
    chain: Chain,
    targetDir: FsNode | undefined,
    targetName: string,
    target: FsNode | undefined,
  ): boolean {
    if (chain.uncertain) return true;
    if (target === undefined) {
      return (
        this.uncertainPlaced || (targetDir !== undefined && this.unknownSlot(targetDir, targetName))
      );
    }
    const dirName = chain.names.length === 0 ? '' : chain.names[chain.names.length - 1]!;
    return this.isProvisional(target) || this.isTainted(dirName, targetName, target);
  }

  /** Whether a name missing from the tree may exist after all (see {@link taintWrite}). */
  get missingUncertain(): boolean {
    return this.uncertainPlaced;
  }

  /**
   * Whether `name` in a directory named `dirName` (`''`: the root) may hold something
   * else than `child` (`undefined`: than nothing), because of a taint since it was placed.
   */
  isTainted(dirName: string, name: string, child: FsNode | undefined): boolean {
    const since = child === undefined ? -1 : (this.placedAt.get(child) ?? 0);
    const dirs = this.taints.get(name);
    if (dirs !== undefined) {
      if (affects(dirs.get(ANY), child, since)) return true;
      if (dirName !== '' && affects(dirs.get(dirName), child, since)) return true;
    }
    if (child === undefined || this.emptied.size === 0) return false;
    return (
      affects(this.emptied.get(ANY), child, since) ||
      (dirName !== '' && affects(this.emptied.get(dirName), child, since))
    );
  }
}

/** Whether `t` may have changed what a slot holds (`child`, placed at `since`). */
function affects(t: Taint | undefined, child: FsNode | undefined, since: number): boolean {
  if (t === undefined || t.time <= since) return false;
  // A removal cannot make a missing name appear, nor remove what its own layer wrote.
  if (t.belowLayer !== Number.POSITIVE_INFINITY)
    return child !== undefined && child.layer < t.belowLayer;
  return true;
}
