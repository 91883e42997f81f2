import type { TarEntry } from '../tar/index.js';
import { joinRelative } from './clean-path.js';
import type { RuleEvents } from './events.js';
import { FsNode, Owners } from './fs-node.js';
import { Knowledge } from './knowledge.js';

export const WHITEOUT = '.wh.';
export const OPAQUE = '.wh..wh..opq';
/** Other `.wh..wh.*` names are aufs bookkeeping (`.wh..wh.plnk`), meaningless here. */
export const AUFS_META = '.wh..wh.';

/**
 * The tree {@link LayerRules} keeps, and what removes things from it: whiteouts, opaque
 * directories, replacement. Every change is told to the events, so that whoever mirrors
 * the tree (unpack) changes the same.
 */
export abstract class RuleTree {
  /** The root directory of the tree. */
  readonly root = FsNode.impliedDir(0);
  /** What is known, when applying over an unknown base; `undefined` otherwise. */
  readonly knowledge: Knowledge | undefined;
  protected readonly events: RuleEvents;
  /** Owners shared between the tree's nodes. */
  protected readonly owners = new Owners();
  protected layer = 0;
  /** Directories on the resolved paths of the current layer's entries (umoci's upperPaths). */
  protected readonly touched = new Set<FsNode>();
  /** Over an unknown base: directories uncertain entries of this layer may have gone through. */
  protected readonly maybeTouched = new Set<FsNode>();
  /**
   * The directory the previous entry went into, as its tar spelled it, and its resolved
   * path. Tars list a directory's files one after another, so most entries reuse it
   * instead of resolving from the root again. Dropped whenever a directory, symlink or
   * hardlink is removed or a link placed: those are what a resolution goes through (a
   * directory or a file placed over nothing cannot change one, not even a lexical `..`
   * after a missing name).
   */
  protected lastKey = '';
  protected lastDir: FsNode | undefined;
  protected lastPath = '';

  constructor(events: RuleEvents, unknownBase: boolean) {
    this.events = events;
    this.knowledge = unknownBase ? new Knowledge(this.root) : undefined;
  }

  protected whiteoutIn(e: TarEntry, dir: FsNode, dirPath: string, name: string): undefined {
    if (refusedWhiteout(name)) return this.refuse(e, 'whiteout names no file');
    if (name === OPAQUE) {
      this.lastDir = undefined;
      this.events.opaque?.(e, dir, dirPath);
      this.pruneLower(dir, dirPath);
      return;
    }
    if (name.startsWith(AUFS_META)) return;
    const victimName = name.slice(WHITEOUT.length);
    const victim = dir.children!.get(victimName);
    this.events.whiteout?.(e, victim, joinRelative(dirPath, victimName));
    if (victim === undefined) {
      const k = this.knowledge;
      if (k?.unknownSlot(dir, victimName)) {
        k.changed();
        k.tombstone(dir, victimName);
      }
      return;
    }
    this.lastDir = undefined;
    this.hide(dir, dirPath, victimName, victim);
    return;
  }

  /** Remove what lower layers left below `dir`, keeping what the current layer wrote. */
  protected pruneLower(dir: FsNode, dirPath: string): void {
    for (const [name, child] of dir.children!) this.hide(dir, dirPath, name, child);
    const k = this.knowledge;
    if (k?.isIncomplete(dir)) {
      k.changed();
      k.markComplete(dir);
    }
  }

  /**
   * What a whiteout does to `node` (in `dir`): removed if lower layers left it, kept
   * (emptied of lower content) if this layer wrote it or through it. Over an unknown
   * base, kept and provisional when only an uncertain entry may have written through it.
   */
  protected hide(dir: FsNode, dirPath: string, name: string, node: FsNode): void {
    const written = node.layer === this.layer || this.touched.has(node);
    if (!written && !this.maybeTouched.has(node)) {
      this.remove(dir, dirPath, name, node, undefined);
      return;
    }
    if (!written) this.knowledge!.markProvisional(node);
    if (node.children !== undefined) this.pruneLower(node, joinRelative(dirPath, name));
  }

  protected remove(
    dir: FsNode,
    dirPath: string,
    name: string,
    node: FsNode,
    by: TarEntry | undefined,
  ): void {
    dir.children!.delete(name);
    if (node.type === 'dir' || node.type === 'symlink' || node.type === 'hardlink') {
      this.lastDir = undefined;
    }
    const k = this.knowledge;
    if (k !== undefined) {
      k.changed();
      k.tombstone(dir, name);
    }
    this.events.removed?.(node, dirPath, name, by);
  }

  protected newNode(e: TarEntry): FsNode {
    const node = new FsNode(e.type, 0, 0, 0, this.layer, 0, 0);
    node.assign(e, this.layer, this.owners);
    this.knowledge?.placed(node);
    return node;
  }

  protected refuse(e: TarEntry, reason: string): undefined {
    this.events.refused(e, reason);
    return undefined;
  }
}

/** `.wh.`, `.wh..`, `.wh...`: whiteouts of the directory itself or of its parent. */
export function refusedWhiteout(name: string): boolean {
  return name === '.wh.' || name === '.wh..' || name === '.wh...';
}
