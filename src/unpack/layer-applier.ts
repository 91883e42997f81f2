import { chmodSync, lchownSync, utimesSync } from 'node:fs';
import { fsPath, type TarEntry, type TarRecord } from '../tar/index.js';
import type { DiskWriter } from './disk-writer.js';
import { makeDevice, makeFifo } from './special-files.js';
import {
  attach,
  cleanPath,
  isWithin,
  type NodeMeta,
  newRoot,
  type TreeNode,
  walkDir,
} from './tree.js';

/*
 * The hot path issues its file system calls through a DiskWriter without waiting for
 * them: synchronous calls on this thread (SyncDiskWriter), or batches carried out in order
 * on a thread of their own (WorkerDiskWriter). Either way each call is a plain syscall, not
 * a thread-pool round trip per call; the model below never asks the disk anything.
 */

/** What a {@link LayerApplier} needs to know about the process and the target. */
export interface ApplierSettings {
  /** Real path of DIR. */
  rootAbs: string;
  /** No chown, no device nodes. */
  rootless: boolean;
  /** The process umask (modes that survive it need no chmod). */
  umask: number;
  /** Ids new files get without chown; chown is skipped when the entry wants these. */
  euid: number;
  egid: number;
  /** Report a refused, confined or unreproducible entry. */
  warn(layer: number, path: string | undefined, message: string): void;
  /** Carries out the file system calls, in order. */
  disk: DiskWriter;
  signal?: AbortSignal;
}

function metaOf(e: TarEntry): NodeMeta {
  const meta: NodeMeta = { uid: e.uid, gid: e.gid, mode: e.mode & 0o7777, mtime: e.mtime };
  if (e.xattrs !== undefined) meta.xattrs = e.xattrs;
  return meta;
}

/** Applies tar entries of successive layers to DIR, keeping the {@link TreeNode} model. */
export class LayerApplier {
  readonly root = newRoot();
  bytes = 0;
  devicesSkipped = 0;
  /** Position of the layer being applied (monotonic, drives whiteout rules). */
  private pos = 0;
  /** Index of that layer, as warnings name it. */
  private index = 0;
  private readonly mkdirImplicit = (parent: TreeNode, name: string) => this.newDir(parent, name);
  /**
   * The directory the previous entry went into, and its path as the tar spelled it. Tars
   * list a directory's files one after another, so most entries reuse it instead of
   * splitting their path and walking from the root again. Reuse is sound because an entry
   * in that directory cannot change how the directory itself resolves; any other entry
   * (a whiteout, one elsewhere, one with `..`) takes the full walk and resets it.
   */
  private lastParent: TreeNode | undefined;
  private lastParentPath = '';

  constructor(private readonly s: ApplierSettings) {}

  /** Start applying the layer at `position` (0-based, bottom first), named `index`. */
  begin(position: number, index: number): void {
    this.pos = position;
    this.index = index;
    this.lastParent = undefined;
  }

  /** Absolute path of a node on disk. */
  abs(node: TreeNode): string {
    return node.path === '' ? this.s.rootAbs : `${this.s.rootAbs}/${node.path}`;
  }

  private warn(path: string | undefined, message: string): void {
    this.s.warn(this.index, path, message);
  }

  /**
   * Apply one entry of the current layer. Returns a promise only when the entry needs to
   * wait for something (content still streaming in, a device node being made); most
   * entries are applied before this returns, without a promise per entry.
   */
  apply(record: TarRecord): Promise<void> | undefined {
    const e = record.entry;
    if (e.path.includes('\0') || e.linkname?.includes('\0')) {
      this.warn(e.path, 'name holds a NUL byte; entry skipped');
      return;
    }
    const slash = e.path.lastIndexOf('/');
    const last = this.lastParent;
    if (
      last !== undefined &&
      slash === this.lastParentPath.length &&
      e.path.startsWith(this.lastParentPath) &&
      !e.path.startsWith('.wh.', slash + 1) &&
      !e.path.includes('..', slash)
    ) {
      const name = e.path.slice(slash + 1);
      return this.place(record, last, name);
    }
    this.lastParent = undefined;
    const { segs, climbed } = cleanPath(e.path);
    if (climbed) this.warn(e.path, `climbs above the root; confined to /${segs.join('/')}`);
    if (segs.length === 0) {
      if (e.type === 'dir') {
        this.root.meta = metaOf(e);
        this.root.implicit = false;
      } else this.warn(e.path, `a ${e.type} cannot replace the root; entry skipped`);
      return;
    }
    const name = segs[segs.length - 1]!;
    if (name.startsWith('.wh.')) {
      this.whiteout(e.path, segs);
      return;
    }
    segs.pop();
    let warned = false;
    const parent = walkDir(this.root, segs, {
      create: this.mkdirImplicit,
      touch: this.pos,
      onClimb: (link) => {
        warned = true;
        this.climbWarning(e.path, link);
      },
    });
    if (typeof parent === 'string') {
      this.warn(e.path, `parent directory: ${parent}; entry skipped`);
      return;
    }
    // Only a path spelled plainly (no `..`, nothing confined) is remembered as spelled.
    if (!warned && !climbed && slash > 0 && !e.path.includes('..')) {
      this.lastParent = parent;
      this.lastParentPath = e.path.slice(0, slash);
    }
    return this.place(record, parent, name);
  }

  /** Apply entry `record` as `name` inside directory `parent`. */
  private place(record: TarRecord, parent: TreeNode, name: string): Promise<void> | undefined {
    const e = record.entry;
    const existing = parent.children!.get(name);
    switch (e.type) {
      case 'dir':
        this.dir(e, parent, name, existing);
        return;
      case 'file':
        return this.file(record, parent, name, existing);
      case 'symlink':
        this.symlink(e, parent, name, existing);
        return;
      case 'hardlink':
        this.hardlink(e, parent, name, existing);
        return;
      case 'fifo':
      case 'char':
      case 'block':
        return this.special(e, parent, name, existing);
    }
  }

  private climbWarning(path: string, link: TreeNode): void {
    this.warn(path, `symlink /${link.path} points above the root; resolved inside it`);
  }

  private newDir(parent: TreeNode, name: string, meta?: NodeMeta): TreeNode {
    const diskMode = ((meta ? meta.mode & 0o777 : 0o755) | 0o700) & ~this.s.umask;
    const node = attach(parent, {
      name,
      kind: 'dir',
      layer: this.pos,
      meta: meta ?? { uid: 0, gid: 0, mode: 0o755, mtime: 0 },
      children: new Map(),
      implicit: meta === undefined,
      diskMode,
    });
    // Created owner-writable and without special bits: children still have to go in, and a
    // setgid bit would hand its group to them. The final pass sets the real mode.
    this.s.disk.mkdir(this.abs(node), diskMode);
    return node;
  }

  private dir(e: TarEntry, parent: TreeNode, name: string, existing?: TreeNode): void {
    if (existing?.kind === 'dir') {
      existing.meta = metaOf(e);
      existing.implicit = false;
      existing.layer = this.pos;
      return;
    }
    if (existing) this.remove(existing);
    this.newDir(parent, name, metaOf(e));
  }

  private file(
    record: TarRecord,
    parent: TreeNode,
    name: string,
    existing?: TreeNode,
  ): Promise<void> | undefined {
    const e = record.entry;
    if (e.sparse) {
      this.warn(e.path, 'GNU sparse files are not supported; entry skipped');
      return;
    }
    if (existing) this.remove(existing);
    const meta = metaOf(e);
    const node = attach(parent, { name, kind: 'file', layer: this.pos, meta });
    const perm = meta.mode & 0o777;
    // O_EXCL|O_NOFOLLOW: whatever was there has been unlinked; if anything reappeared, fail
    // rather than write through it.
    this.s.disk.createFile(this.abs(node), perm);
    // Small files are usually whole in the decompressor's current chunk: written at once.
    const whole = e.size > 0 ? record.bufferedBody?.() : undefined;
    if (e.size === 0 || whole) {
      if (whole) this.s.disk.write(whole);
      this.finishFile(meta, perm, e.size);
      return;
    }
    return this.streamFile(record, meta, perm);
  }

  private async streamFile(record: TarRecord, meta: NodeMeta, perm: number) {
    const { disk } = this.s;
    for await (const chunk of record.readBody()) {
      disk.write(chunk);
      if (disk.backlogged) await disk.drained();
    }
    this.finishFile(meta, perm, record.entry.size);
  }

  private finishFile(meta: NodeMeta, perm: number, size: number): void {
    this.bytes += size;
    this.s.disk.finishFile({
      ...(this.wantsChown(meta) ? { owner: [meta.uid, meta.gid] as [number, number] } : {}),
      // chown clears setuid/setgid, so the mode goes on after it.
      ...(meta.mode !== (perm & ~this.s.umask) ? { mode: meta.mode } : {}),
      mtime: meta.mtime,
    });
  }

  private symlink(e: TarEntry, parent: TreeNode, name: string, existing?: TreeNode): void {
    const target = e.linkname ?? '';
    if (target === '') {
      this.warn(e.path, 'symlink with an empty target; entry skipped');
      return;
    }
    if (existing) this.remove(existing);
    const meta = metaOf(e);
    const node = attach(parent, { name, kind: 'symlink', layer: this.pos, meta, target });
    // Stored verbatim: a symlink is only dangerous when followed, and unpack never follows
    // one on disk (the model resolves them, confined to DIR).
    const owner: [number, number] | undefined = this.wantsChown(meta)
      ? [meta.uid, meta.gid]
      : undefined;
    this.s.disk.symlink(target, this.abs(node), owner, meta.mtime);
  }

  private hardlink(e: TarEntry, parent: TreeNode, name: string, existing?: TreeNode): void {
    const link = cleanPath(e.linkname ?? '');
    if (link.climbed)
      this.warn(e.path, `hardlink target ${e.linkname} climbs above the root; confined`);
    const targetName = link.segs.pop();
    if (targetName === undefined) {
      this.warn(e.path, 'hardlink to the root directory refused; entry skipped');
      return;
    }
    // As umoci: the target's parents resolve inside the root, the last component is not
    // followed (a hardlink to a symlink links the symlink).
    const dir = walkDir(this.root, link.segs, {
      onClimb: (l) => this.climbWarning(e.path, l),
    });
    const target = typeof dir === 'string' ? undefined : dir.children!.get(targetName);
    if (target === undefined) {
      this.warn(e.path, `hardlink target ${e.linkname} does not exist; entry skipped`);
      return;
    }
    if (target.kind === 'dir') {
      this.warn(e.path, `hardlink to directory ${e.linkname} refused; entry skipped`);
      return;
    }
    if (target === existing) return;
    if (existing && isWithin(target, existing)) {
      this.warn(e.path, 'hardlink would replace its own target; entry skipped');
      return;
    }
    if (existing) this.remove(existing);
    const node = attach(parent, {
      name,
      kind: target.kind,
      layer: this.pos,
      meta: target.meta,
      hardlink: true,
      ...(target.target === undefined ? {} : { target: target.target }),
    });
    this.s.disk.link(this.abs(target), this.abs(node));
  }

  private async special(
    e: TarEntry,
    parent: TreeNode,
    name: string,
    existing?: TreeNode,
  ): Promise<void> {
    const kind = e.type as 'fifo' | 'char' | 'block';
    if (kind !== 'fifo' && this.s.rootless) {
      this.devicesSkipped++;
      this.warn(e.path, `${kind} device ${e.devmajor ?? 0}:${e.devminor ?? 0} skipped (rootless)`);
      return;
    }
    if (existing) this.remove(existing);
    const meta = metaOf(e);
    const node = attach(parent, { name, kind, layer: this.pos, meta });
    const path = fsPath(this.abs(node)); // a name's exact bytes (tar/name-codec.ts)
    // Made on this thread, not the writer's: everything queued before must be on disk.
    await this.s.disk.flush();
    if (kind === 'fifo') makeFifo(path, meta.mode);
    else makeDevice(path, kind, meta.mode, e.devmajor ?? 0, e.devminor ?? 0);
    if (this.wantsChown(meta)) {
      lchownSync(path, meta.uid, meta.gid);
      if (meta.mode & 0o7000) chmodSync(path, meta.mode);
    }
    utimesSync(path, meta.mtime, meta.mtime);
  }

  private wantsChown(meta: NodeMeta): boolean {
    return !this.s.rootless && (meta.uid !== this.s.euid || meta.gid !== this.s.egid);
  }

  /**
   * `.wh.NAME` hides NAME of lower layers; `.wh..wh..opq` hides everything lower layers put
   * in its directory. Both apply only to lower layers (OCI image spec), so what this layer
   * wrote survives whatever the order of entries in the tar.
   */
  private whiteout(path: string, segs: string[]): void {
    const name = segs.pop()!.slice(4);
    // Not marked as written by this layer: a whiteout adds nothing, so a later `.wh.` of
    // that directory in the same layer still removes it.
    const dir = walkDir(this.root, segs, { onClimb: (l) => this.climbWarning(path, l) });
    if (typeof dir === 'string') return; // nothing there to hide
    if (name === '.wh..opq') {
      this.pruneLower(dir);
      return;
    }
    if (name.startsWith('.wh.')) return; // aufs bookkeeping (.wh..wh.plnk…), nothing to apply
    if (name === '' || name === '.' || name === '..') {
      this.warn(path, 'whiteout names no file; entry skipped');
      return;
    }
    const victim = dir.children!.get(name);
    if (victim === undefined) return;
    if (victim.layer < this.pos) this.remove(victim);
    else if (victim.kind === 'dir') this.pruneLower(victim);
  }

  /** Remove what lower layers left below `dir`, keeping what the current layer wrote. */
  private pruneLower(dir: TreeNode): void {
    for (const child of dir.children!.values()) {
      if (child.layer < this.pos) this.remove(child);
      else if (child.kind === 'dir') this.pruneLower(child);
    }
  }

  /** Remove a node (a whole subtree for a directory); never follows a symlink. */
  private remove(node: TreeNode): void {
    this.s.disk.remove(this.abs(node), node.kind === 'dir');
    node.parent.children!.delete(node.name);
  }
}
