import type { TarEntry, TarRecord } from '../tar/index.js';
import { cleanPath, isPlainPath, joinRelative } from './clean-path.js';
import type { RuleEvents } from './events.js';
import { FsNode, ownName } from './fs-node.js';
import { AUFS_META, OPAQUE, RuleTree, refusedWhiteout, WHITEOUT } from './rule-tree.js';
import { type Chain, existingDir, linkTargetOf, secureJoin } from './secure-join.js';

/** Options for {@link LayerRules}. */
export interface LayerRulesOptions {
  /** Told every decision (the view counts them, unpack carries them out on disk). */
  events: RuleEvents;
  /**
   * The first layer applied is not the bottom one: what lies below is unknown (see
   * {@link Knowledge}); `cat` uses this to read layers from the top.
   */
  unknownBase?: boolean;
}

/**
 * The OCI changeset rules, as umoci (`oci/layer/tar_extract.go`) and containerd
 * (`archive/tar.go`) apply a layer to a root filesystem, over an in-memory tree of
 * {@link FsNode}s. The filesystem view is this tree; unpack mirrors it on disk through
 * {@link RuleEvents}; `cat` builds it from the top layers only (see `Knowledge`).
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
export class LayerRules extends RuleTree {
  /** The directories a plain parent path went through (reused, see {@link plainParent}). */
  private readonly passed: FsNode[] = [];
  /** The entry being applied, for messages about the symlinks its path meets. */
  private current: TarEntry | undefined;
  private readonly onClimb: ((link: string) => void) | undefined;

  constructor(options: LayerRulesOptions) {
    super(options.events, options.unknownBase === true);
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
    this.maybeTouched.clear();
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
    this.knowledge?.nextEntry();
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
        dir.children!.set(ownName(name), child);
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
    if (chain === 'too many symlinks') return this.refuse(e, 'parent directory: too many symlinks');
    const dir = this.mkdirAll(e, chain);
    if (dir === undefined) return;
    const dirPath = chain.names.join('/');
    if (!chain.uncertain) {
      if (segs.length > 0 && !climbed && isPlainPath(e.path)) {
        this.lastKey = e.path.slice(0, e.path.length - name.length - 1);
        this.lastDir = dir;
        this.lastPath = dirPath;
      }
      return this.applyIn(e, item, dir, dirPath, name);
    }
    // Over an unknown base, through something not certain: see Knowledge.
    const k = this.knowledge!;
    const route = segs.join('/');
    k.taintWrite(k.landingName(chain, route), name);
    k.changed();
    this.lastDir = undefined;
    const done = this.applyIn(e, item, dir, dirPath, name);
    // What it made may really be elsewhere: provisional where it is.
    const made = dir.children!.get(name);
    if (made !== undefined && made.layer === this.layer && !made.implied) {
      k.markProvisional(made);
      if (made.type === 'dir') k.recordRoute(made, joinRelative(route, name));
    }
    return done;
  }

  /** Make the missing directories of `chain` (MkdirAll); the last one, or refused. */
  private mkdirAll(e: TarEntry, chain: Chain): FsNode | undefined {
    let dir = this.root;
    const { names, nodes } = chain;
    // Refused before anything is made or marked written (a non-directory comes before any
    // missing step: below a missing one all are missing).
    const blocked = nodes.findIndex((n) => n !== undefined && n.children === undefined);
    if (blocked >= 0) {
      this.refuse(
        e,
        `parent directory: /${names.slice(0, blocked + 1).join('/')} is not a directory`,
      );
      return undefined;
    }
    for (let i = 0; i < names.length; i++) {
      let node = nodes[i];
      if (node === undefined) {
        node = FsNode.impliedDir(this.layer);
        dir.children!.set(ownName(names[i]!), node);
        const k = this.knowledge;
        if (k !== undefined) {
          k.placed(node);
          // The base may hold anything there; further down, MkdirAll may really make
          // these anywhere.
          if (i === chain.unknownAt) k.markProvisional(node);
          else if (chain.uncertain) k.taintWrite(undefined, names[i]!);
        }
        this.events.impliedDir?.(node, names.slice(0, i).join('/'), names[i]!);
      }
      // An uncertain entry may be refused, or go elsewhere: it may not write through here.
      if (chain.uncertain) this.maybeTouched.add(node);
      else this.touched.add(node);
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
    const k = this.knowledge;
    // Over an unknown base: a name the base may hold, or a hardlink the base may refuse
    // (then what was there stays), is replaced or merged with.
    const overUnknown =
      k !== undefined &&
      (existing === undefined
        ? k.unknownSlot(dir, name)
        : (existing.type === 'hardlink' && existing.linkTarget === undefined) ||
          k.isProvisional(existing));
    if (overUnknown) k.changed();
    if (e.type === 'dir') {
      if (existing !== undefined && existing.type === 'dir') {
        existing.assign(e, this.layer, this.owners);
        this.events.dirUpdated?.(existing, dirPath, name, e);
        return;
      }
      if (existing !== undefined) this.remove(dir, dirPath, name, existing, e);
      const node = this.newNode(e);
      dir.children!.set(ownName(name), node);
      if (overUnknown) k.markIncomplete(node);
      return this.events.placed?.(node, dirPath, name, item, existing);
    }
    if (e.type === 'hardlink') return this.hardlink(e, item, dir, dirPath, name, existing);
    if (e.type === 'symlink') {
      if (!e.linkname) return this.refuse(e, 'symlink with an empty target');
      this.lastDir = undefined;
    }
    if (existing !== undefined) this.remove(dir, dirPath, name, existing, e);
    const node = this.newNode(e);
    dir.children!.set(ownName(name), node);
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
    if (chain === 'too many symlinks') {
      return this.refuse(e, `hardlink target ${e.linkname}: too many symlinks`);
    }
    const targetDir = existingDir(this.root, chain);
    let target = targetDir?.children?.get(targetName);
    if (target === existing) target = undefined;
    let content: FsNode | undefined;
    if (!this.knowledge?.unknownTarget(chain, targetDir, targetName, target)) {
      if (target === undefined) {
        return this.refuse(e, `hardlink target ${e.linkname} does not exist`);
      }
      content = target.type === 'hardlink' ? target.linkTarget : target;
      if (content?.type === 'dir') return this.refuse(e, `hardlink to directory ${e.linkname}`);
    }
    if (existing !== undefined) this.remove(dir, dirPath, name, existing, e);
    const node = this.newNode(e);
    // Left undefined over an unknown base when the target may be anything: see Knowledge.
    node.linkTarget = content;
    dir.children!.set(ownName(name), node);
    this.lastDir = undefined;
    const targetPath = joinRelative(chain.names.join('/'), targetName);
    return this.events.placed?.(node, dirPath, name, item, existing, targetPath);
  }

  private rootEntry(e: TarEntry): undefined {
    if (e.type !== 'dir') return this.refuse(e, `a ${e.type} cannot replace the root`);
    this.root.assign(e, this.layer, this.owners);
    this.events.dirUpdated?.(this.root, '', '', e);
    return undefined;
  }

  /** A whiteout whose directory has not been resolved yet: resolve it, never create it. */
  private whiteout(e: TarEntry, segs: string[], name: string): undefined {
    if (refusedWhiteout(name)) return this.refuse(e, 'whiteout names no file');
    if (name !== OPAQUE && name.startsWith(AUFS_META)) return;
    const chain = secureJoin(this.root, segs, this.knowledge, undefined, this.onClimb);
    if (chain === 'too many symlinks') return this.refuse(e, 'parent directory: too many symlinks');
    if (chain.uncertain) {
      // Wherever it really applies, it can only remove what the taint names.
      const k = this.knowledge!;
      const landing = k.landingName(chain, segs.join('/'));
      if (name === OPAQUE) k.taintChildren(landing, this.layer);
      else k.taintRemoval(landing, name.slice(WHITEOUT.length), this.layer);
      k.changed();
      this.lastDir = undefined;
      return;
    }
    // Nothing there, or not a directory: nothing to hide.
    const dir = existingDir(this.root, chain);
    if (dir !== undefined) this.whiteoutIn(e, dir, chain.names.join('/'), name);
    return;
  }
}

/** A name of one path segment that needs no cleaning. */
function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..';
}
