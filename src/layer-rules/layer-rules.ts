import { FsNode } from '../fs/node.js';
import type { TarEntry, TarRecord } from '../tar/index.js';
import { cleanPath, isPlainPath, joinRelative } from './clean-path.js';
import type { RuleEvents } from './events.js';
import { Knowledge } from './knowledge.js';
import { type Chain, existingDir, linkTargetOf, secureJoin } from './secure-join.js';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
/** Other `.wh..wh.*` names are aufs bookkeeping (`.wh..wh.plnk`), meaningless here. */
const AUFS_META = '.wh..wh.';

/** Options for {@link LayerRules}. */
export interface LayerRulesOptions {
  /** Told every decision (the view counts them, unpack carries them out on disk). */
  events: RuleEvents;
  /**
   * The first layer applied is not the bottom one: what lies below is unknown (see
   * {@link Knowledge}); `cat` uses this to read layers from the top.
   */
  unknownBase?: boolean;
  /** Shares equal owner-name strings between nodes (the view keeps many). */
  intern?: (s: string | undefined) => string | undefined;
}

const same = (s: string | undefined) => s;

/**
 * The OCI changeset rules, as umoci (`oci/layer/tar_extract.go`) and containerd
 * (`archive/tar.go`) apply a layer to a root filesystem, over an in-memory tree of
 * {@link FsNode}s. The filesystem view is this tree; unpack mirrors it on disk through
 * {@link RuleEvents}; `cat` builds it from the top layers only ({@link Knowledge}).
 *
 * - Entry paths are cleaned lexically; `..` stops at the root.
 * - The parent of an entry is resolved inside the root with securejoin's semantics
 *   ({@link secureJoin}: symlinks followed, absolute targets from the root, at most 40 of
 *   them), missing directories are made (implied, mode 0755); the last component is
 *   never followed: whatever is there is replaced, except that a directory entry over a
 *   directory updates its metadata and keeps its children (over a symlink to a
 *   directory it replaces the link, as umoci without `--keep-dirlinks`).
 * - `.wh.NAME` removes NAME as lower layers left it; `.wh..wh..opq` removes what lower
 *   layers left in its directory. What this layer wrote survives, in whatever order the
 *   entries come: as umoci, "written by this layer" is the path of every entry applied
 *   and every directory on its resolved path, and the walk keeps those (a directory kept
 *   so keeps its metadata). The whiteout's directory is resolved like any parent, but
 *   never created.
 * - A hardlink's target has its parents resolved inside the root and its last component
 *   not followed (a hardlink to a symlink links the symlink); the link names the target's
 *   content, so removing the target later leaves the link's content in place.
 *
 * Refused (umoci and containerd stop the unpack there; {@link RuleEvents.refused} is told
 * and the entry changes nothing): a parent that is not a directory (umoci: "mkdir parent:
 * not a directory"), a symlink loop on the way (securejoin allows 255 links, Linux 40;
 * 40 here), a hardlink to a missing path, to a directory or to itself (umoci removes the
 * path first, then links), a symlink with an empty target, a non-directory at the root, a
 * NUL byte in a name, and the whiteouts `.wh.`, `.wh..` and `.wh...`: umoci and
 * containerd would remove the directory itself or its parent (outside the root at the
 * top) for those.
 */
export class LayerRules {
  /** The root directory of the tree. */
  readonly root = FsNode.impliedDir(0);
  /** What is known, when applying over an unknown base; `undefined` otherwise. */
  readonly knowledge: Knowledge | undefined;
  private readonly events: RuleEvents;
  private readonly intern: (s: string | undefined) => string | undefined;
  private layer = 0;
  /** Directories on the resolved paths of the current layer's entries (umoci's upperPaths). */
  private readonly touched = new Set<FsNode>();
  /**
   * The directory the previous entry went into, as its tar spelled it, and its resolved
   * path. Tars list a directory's files one after another, so most entries reuse it
   * instead of resolving from the root again. Dropped whenever a directory, symlink or
   * hardlink is removed or a link placed: those are what a resolution goes through (a
   * directory or a file placed over nothing cannot change one, not even a lexical `..`
   * after a missing name).
   */
  private lastKey = '';
  private lastDir: FsNode | undefined;
  private lastPath = '';
  /** The directories a plain parent path went through (reused, see {@link plainParent}). */
  private readonly passed: FsNode[] = [];
  /** The entry being applied, for messages about the symlinks its path meets. */
  private current: TarEntry | undefined;
  private readonly onClimb: ((link: string) => void) | undefined;

  constructor(options: LayerRulesOptions) {
    this.events = options.events;
    this.intern = options.intern ?? same;
    this.knowledge = options.unknownBase ? new Knowledge(this.root) : undefined;
    const { confined } = this.events;
    if (confined) {
      this.onClimb = (link) =>
        confined.call(
          this.events,
          this.current!,
          `symlink /${link} points above the root; resolved inside it`,
        );
    }
  }

  /** Start applying the layer at `layer` (positions increase from the bottom). */
  beginLayer(layer: number): void {
    this.layer = layer;
    this.touched.clear();
    this.lastDir = undefined;
  }

  /**
   * Apply one entry of the current layer. Returns a promise only when the events want to
   * wait for something (unpack streaming a file's content).
   */
  apply(item: TarEntry | TarRecord): Promise<void> | undefined {
    const e = 'entry' in item ? item.entry : item;
    const path = e.path;
    if (path.includes('\0') || e.linkname?.includes('\0')) {
      return this.refuse(e, 'name holds a NUL byte');
    }
    this.current = e;
    const slash = path.lastIndexOf('/');
    if (slash < 0) {
      if (isPlainName(path)) return this.applyIn(e, item, this.root, '', path);
    } else if (
      this.lastDir !== undefined &&
      slash === this.lastKey.length &&
      path.startsWith(this.lastKey)
    ) {
      const name = path.slice(slash + 1);
      if (isPlainName(name)) return this.applyIn(e, item, this.lastDir, this.lastPath, name);
    } else if (this.knowledge === undefined && isPlainPath(path)) {
      const name = path.slice(slash + 1);
      if (!name.startsWith(WHITEOUT)) {
        const key = path.slice(0, slash);
        const dir = this.plainParent(e, key);
        if (dir === undefined) return;
        if (dir !== null) {
          this.lastKey = key;
          this.lastDir = dir;
          this.lastPath = key;
          return this.applyIn(e, item, dir, key, name);
        }
      }
    }
    return this.applySlow(e, item);
  }

  /**
   * The common case of resolving a parent: `key` is plain (no `.`, `..` or empty
   * segments), the base is known, and no symlink is on the way, so the path is the key
   * itself and missing directories are made as met. `null` when a symlink is met (then
   * {@link secureJoin} does it); `undefined` when refused.
   */
  private plainParent(e: TarEntry, key: string): FsNode | null | undefined {
    const passed = this.passed;
    passed.length = 0;
    let dir = this.root;
    let start = 0;
    for (;;) {
      const end = key.indexOf('/', start);
      const name = end < 0 ? key.slice(start) : key.slice(start, end);
      let child = dir.children!.get(name);
      if (child === undefined) {
        child = FsNode.impliedDir(this.layer);
        dir.children!.set(name, child);
        this.events.impliedDir?.(child, start === 0 ? '' : key.slice(0, start - 1), name);
      } else if (child.children === undefined) {
        if (linkTargetOf(child) !== undefined) return null;
        this.refuse(
          e,
          `parent directory: /${end < 0 ? key : key.slice(0, end)} is not a directory`,
        );
        return undefined;
      }
      passed.push(child);
      dir = child;
      if (end < 0) break;
      start = end + 1;
    }
    for (const d of passed) this.touched.add(d);
    return dir;
  }

  private applySlow(e: TarEntry, item: TarEntry | TarRecord): Promise<void> | undefined {
    const { segs, climbed } = cleanPath(e.path);
    if (climbed) {
      this.events.confined?.(e, `climbs above the root; confined to /${segs.join('/')}`);
    }
    const name = segs.pop();
    if (name === undefined) return this.rootEntry(e);
    if (name.startsWith(WHITEOUT)) return this.whiteout(e, segs, name);
    const chain = secureJoin(this.root, segs, this.knowledge, undefined, this.onClimb);
    if (chain === 'unknown') return this.unplaced(name);
    if (chain === 'too many symlinks') return this.refuse(e, 'parent directory: too many symlinks');
    const dir = this.mkdirAll(e, chain);
    if (dir === undefined) return;
    const dirPath = chain.names.join('/');
    if (segs.length > 0 && !climbed && isPlainPath(e.path)) {
      this.lastKey = e.path.slice(0, e.path.length - name.length - 1);
      this.lastDir = dir;
      this.lastPath = dirPath;
    }
    return this.applyIn(e, item, dir, dirPath, name);
  }

  /** Make the missing directories of `chain` (MkdirAll); the last one, or refused. */
  private mkdirAll(e: TarEntry, chain: Chain): FsNode | undefined {
    let dir = this.root;
    const { names, nodes } = chain;
    // A non-directory comes before any missing step (below a missing one all are missing),
    // so a refusal never leaves directories half made.
    for (let i = 0; i < names.length; i++) {
      let node = nodes[i];
      if (node === undefined) {
        node = FsNode.impliedDir(this.layer);
        dir.children!.set(names[i]!, node);
        this.events.impliedDir?.(node, names.slice(0, i).join('/'), names[i]!);
      } else if (node.children === undefined) {
        this.refuse(e, `parent directory: /${names.slice(0, i + 1).join('/')} is not a directory`);
        return undefined;
      }
      this.touched.add(node);
      dir = node;
    }
    return dir;
  }

  private applyIn(
    e: TarEntry,
    item: TarEntry | TarRecord,
    dir: FsNode,
    dirPath: string,
    name: string,
  ): Promise<void> | undefined {
    if (name.startsWith(WHITEOUT)) return this.whiteoutIn(e, dir, dirPath, name);
    const existing = dir.children!.get(name);
    if (e.type === 'dir') {
      if (existing !== undefined && existing.type === 'dir') {
        existing.assign(e, this.layer, this.intern);
        this.events.dirUpdated?.(existing, dirPath, name, e);
        return;
      }
      const overUnknown = existing === undefined && this.knowledge?.unknownSlot(dir, name) === true;
      if (existing !== undefined) this.remove(dir, dirPath, name, existing, e);
      const node = this.newNode(e);
      dir.children!.set(name, node);
      if (overUnknown) this.knowledge!.markIncomplete(node);
      return this.events.placed?.(node, dirPath, name, item, existing);
    }
    if (e.type === 'hardlink') return this.hardlink(e, item, dir, dirPath, name, existing);
    if (e.type === 'symlink') {
      if (!e.linkname) return this.refuse(e, 'symlink with an empty target');
      this.lastDir = undefined;
    }
    if (existing !== undefined) this.remove(dir, dirPath, name, existing, e);
    const node = this.newNode(e);
    dir.children!.set(name, node);
    return this.events.placed?.(node, dirPath, name, item, existing);
  }

  private hardlink(
    e: TarEntry,
    item: TarEntry | TarRecord,
    dir: FsNode,
    dirPath: string,
    name: string,
    existing: FsNode | undefined,
  ): Promise<void> | undefined {
    const link = cleanPath(e.linkname ?? '');
    if (link.climbed) {
      this.events.confined?.(e, `hardlink target ${e.linkname} climbs above the root; confined`);
    }
    const targetName = link.segs.pop();
    if (targetName === undefined) return this.refuse(e, 'hardlink to the root directory');
    // As umoci: the path is cleared first, then the target's parents are resolved inside
    // the root and its last component taken as it is.
    const chain = secureJoin(this.root, link.segs, this.knowledge, existing, this.onClimb);
    if (chain === 'unknown') return this.unplaced(name);
    if (chain === 'too many symlinks') {
      return this.refuse(e, `hardlink target ${e.linkname}: too many symlinks`);
    }
    const targetDir = existingDir(this.root, chain);
    let target = targetDir?.children?.get(targetName);
    if (target === existing) target = undefined;
    const k = this.knowledge;
    if (target === undefined) {
      if (targetDir !== undefined && k?.unknownSlot(targetDir, targetName))
        return this.unplaced(name);
      return this.refuse(e, `hardlink target ${e.linkname} does not exist`);
    }
    if (k?.isTainted(targetName)) return this.unplaced(name);
    const content = target.type === 'hardlink' ? target.linkTarget! : target;
    if (content.type === 'dir') return this.refuse(e, `hardlink to directory ${e.linkname}`);
    if (existing !== undefined) this.remove(dir, dirPath, name, existing, e);
    const node = this.newNode(e);
    node.linkTarget = content;
    dir.children!.set(name, node);
    this.lastDir = undefined;
    const targetPath = joinRelative(chain.names.join('/'), targetName);
    return this.events.placed?.(node, dirPath, name, item, existing, targetPath);
  }

  private rootEntry(e: TarEntry): undefined {
    if (e.type !== 'dir') return this.refuse(e, `a ${e.type} cannot replace the root`);
    this.root.assign(e, this.layer, this.intern);
    this.events.dirUpdated?.(this.root, '', '', e);
    return undefined;
  }

  /** A whiteout whose directory has not been resolved yet: resolve it, never create it. */
  private whiteout(e: TarEntry, segs: string[], name: string): undefined {
    if (refusedWhiteout(name)) return this.refuse(e, 'whiteout names no file');
    if (name !== OPAQUE && name.startsWith(AUFS_META)) return;
    const chain = secureJoin(this.root, segs, this.knowledge, undefined, this.onClimb);
    if (chain === 'unknown') {
      if (name === OPAQUE) this.knowledge!.taintAll();
      else this.knowledge!.taint(name.slice(WHITEOUT.length));
      return;
    }
    if (chain === 'too many symlinks') return this.refuse(e, 'parent directory: too many symlinks');
    const dir = existingDir(this.root, chain);
    // Nothing there, or not a directory: nothing to hide.
    if (dir !== undefined) this.whiteoutIn(e, dir, chain.names.join('/'), name);
    return;
  }

  private whiteoutIn(e: TarEntry, dir: FsNode, dirPath: string, name: string): undefined {
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
      this.knowledge?.tombstone(dir, victimName);
      return;
    }
    this.lastDir = undefined;
    if (!this.isTouched(victim)) this.remove(dir, dirPath, victimName, victim, undefined);
    else if (victim.children !== undefined) {
      this.pruneLower(victim, joinRelative(dirPath, victimName));
    }
    return;
  }

  /** Remove what lower layers left below `dir`, keeping what the current layer wrote. */
  private pruneLower(dir: FsNode, dirPath: string): void {
    for (const [name, child] of dir.children!) {
      if (!this.isTouched(child)) this.remove(dir, dirPath, name, child, undefined);
      else if (child.children !== undefined) this.pruneLower(child, joinRelative(dirPath, name));
    }
    this.knowledge?.markComplete(dir);
  }

  private isTouched(node: FsNode): boolean {
    return node.layer === this.layer || this.touched.has(node);
  }

  private remove(
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
    this.knowledge?.tombstone(dir, name);
    this.events.removed?.(node, dirPath, name, by);
  }

  private newNode(e: TarEntry): FsNode {
    const node = new FsNode(e.type, 0, 0, 0, 0, 0, this.layer, 0, 0);
    node.assign(e, this.layer, this.intern);
    return node;
  }

  /** An entry whose place depends on the unknown base; see {@link Knowledge}. */
  private unplaced(name: string): undefined {
    this.knowledge!.taint(name);
    return undefined;
  }

  private refuse(e: TarEntry, reason: string): undefined {
    this.events.refused(e, reason);
    return undefined;
  }
}

/** A name of one path segment that needs no cleaning. */
function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..';
}

/** `.wh.`, `.wh..`, `.wh...`: whiteouts of the directory itself or of its parent. */
function refusedWhiteout(name: string): boolean {
  return name === '.wh.' || name === '.wh..' || name === '.wh...';
}
