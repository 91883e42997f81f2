import { chmodSync, lchownSync, utimesSync } from 'node:fs';
import { LayerRuleError } from '../errors/index.js';
import type { FsNode } from '../layer-rules/fs-node.js';
import { LayerRules, type RuleEvents, refusalText } from '../layer-rules/index.js';
import { escapeName, fsPath, type TarEntry, type TarRecord } from '../tar/index.js';
import type { DiskWriter } from './disk-writer.js';
import { fsTime } from './fs-time.js';
import { makeDevice, makeFifo } from './special-files.js';

/*
 * The layer rules (src/layer-rules) decide; this carries each decision out on disk as it
 * is made, so DIR always matches the rules' tree. The hot path issues its file system
 * calls through a DiskWriter without waiting for them: synchronous calls on this thread
 * (SyncDiskWriter), or batches carried out in order on a thread of their own
 * (WorkerDiskWriter). Either way each call is a plain syscall, not a thread-pool round
 * trip per call; the tree never asks the disk anything.
 *
 * Why the tree instead of asking the disk (lstat per component, realpath per entry, as
 * securejoin does): DIR starts empty and only unpack writes to it, so the tree knows the
 * type of every path without a syscall. Parents are resolved against the tree inside DIR,
 * so a path handed to the kernel only ever goes through real directories that unpack made
 * itself; the last component is never followed (whatever was there is removed first and
 * files are created with O_EXCL|O_NOFOLLOW). That is both the security argument and most
 * of the speed.
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
  /** Report a confined or unreproducible entry. */
  warn(layer: number, path: string | undefined, message: string): void;
  /** Carries out the file system calls, in order. */
  disk: DiskWriter;
  signal?: AbortSignal;
}

/**
 * Applies tar entries of successive layers to DIR: the layer rules decide, the disk
 * follows. An entry the rules refuse fails the unpack with a {@link LayerRuleError}, as
 * umoci and containerd fail there (a parent that is a file, a hardlink to nothing, a
 * symlink loop on the way…).
 */
export class LayerApplier implements RuleEvents {
  private readonly rules = new LayerRules({ events: this });
  bytes = 0;
  devicesSkipped = 0;
  /** Mode each directory was created with (the final pass sets the real one if it differs). */
  readonly diskModes = new Map<FsNode, number>();
  /** Content nodes a hardlink was made to (their inode has more than one name). */
  readonly hardlinkTargets = new Set<FsNode>();
  /** Index of the layer being applied, as warnings name it. */
  private index = 0;

  constructor(private readonly s: ApplierSettings) {}

  /** The tree of what is in DIR. */
  get root(): FsNode {
    return this.rules.root;
  }

  /** Start applying the layer at `position` (0-based, bottom first), named `index`. */
  begin(position: number, index: number): void {
    this.rules.beginLayer(position);
    this.index = index;
  }

  /** Absolute path of a root-relative path (`''` is DIR itself). */
  abs(path: string): string {
    return path === '' ? this.s.rootAbs : `${this.s.rootAbs}/${path}`;
  }

  /** Absolute path of `name` in the directory at root-relative `parent`. */
  private absIn(parent: string, name: string): string {
    return parent === '' ? `${this.s.rootAbs}/${name}` : `${this.s.rootAbs}/${parent}/${name}`;
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
    // What this unpack cannot make is left out before the rules see it, so the tree
    // never holds a path that is not on disk.
    if (e.sparse) {
      this.warn(e.path, 'GNU sparse files are not supported; entry skipped');
      return;
    }
    if ((e.type === 'char' || e.type === 'block') && this.s.rootless) {
      this.devicesSkipped++;
      this.warn(
        e.path,
        `${e.type} device ${e.devmajor ?? 0}:${e.devminor ?? 0} skipped (rootless)`,
      );
      return;
    }
    return this.rules.apply(record);
  }

  refused(entry: TarEntry, reason: string): void {
    throw new LayerRuleError(
      this.index,
      entry.path,
      reason,
      refusalText(this.index, entry, reason),
    );
  }

  confined(entry: TarEntry, message: string): void {
    this.warn(entry.path, escapeName(message)); // names a link target or path: bytes
  }

  impliedDir(dir: FsNode, parent: string, name: string): void {
    this.mkdir(dir, this.absIn(parent, name), 0o755);
  }

  removed(node: FsNode, parent: string, name: string): void {
    this.s.disk.remove(this.absIn(parent, name), node.type === 'dir');
  }

  placed(
    node: FsNode,
    parent: string,
    name: string,
    item: TarEntry | TarRecord,
    _previous: FsNode | undefined,
    targetPath?: string,
  ): Promise<void> | undefined {
    const abs = this.absIn(parent, name);
    switch (node.type) {
      case 'dir':
        this.mkdir(node, abs, node.mode);
        return;
      case 'file':
        return this.file(item as TarRecord, node, abs);
      case 'symlink':
        // Stored verbatim: a symlink is only dangerous when followed, and unpack never
        // follows one on disk (the rules resolve them, confined to DIR).
        this.s.disk.symlink(node.linkname!, abs, this.owner(node), node.mtime);
        return;
      case 'hardlink':
        if (node.linkTarget) this.hardlinkTargets.add(node.linkTarget);
        this.s.disk.link(this.abs(targetPath!), abs);
        return;
      default:
        return this.special(node, abs);
    }
  }

  private mkdir(dir: FsNode, abs: string, mode: number): void {
    // Created owner-writable and without special bits: children still have to go in, and a
    // setgid bit would hand its group to them. The final pass sets the real mode.
    const diskMode = ((mode & 0o777) | 0o700) & ~this.s.umask;
    this.diskModes.set(dir, diskMode);
    this.s.disk.mkdir(abs, diskMode);
  }

  private file(record: TarRecord, node: FsNode, abs: string): Promise<void> | undefined {
    const perm = node.mode & 0o777;
    // O_EXCL|O_NOFOLLOW: whatever was there has been unlinked; if anything reappeared, fail
    // rather than write through it.
    this.s.disk.createFile(abs, perm);
    const size = record.entry.size;
    // Small files are usually whole in the decompressor's current chunk: written at once.
    const whole = size > 0 ? record.bufferedBody?.() : undefined;
    if (size === 0 || whole) {
      if (whole) this.s.disk.write(whole);
      this.finishFile(node, perm, size);
      return;
    }
    return this.streamFile(record, node, perm);
  }

  private async streamFile(record: TarRecord, node: FsNode, perm: number) {
    const { disk } = this.s;
    for await (const chunk of record.readBody()) {
      disk.write(chunk);
      if (disk.backlogged) await disk.drained();
    }
    this.finishFile(node, perm, record.entry.size);
  }

  private finishFile(node: FsNode, perm: number, size: number): void {
    this.bytes += size;
    const owner = this.owner(node);
    this.s.disk.finishFile({
      ...(owner ? { owner } : {}),
      // chown clears setuid/setgid, so the mode goes on after it.
      ...(node.mode !== (perm & ~this.s.umask) ? { mode: node.mode } : {}),
      mtime: node.mtime,
    });
  }

  private async special(node: FsNode, abs: string): Promise<void> {
    const kind = node.type as 'fifo' | 'char' | 'block';
    const path = fsPath(abs); // a name's exact bytes (tar/name-codec.ts)
    // Made on this thread, not the writer's: everything queued before must be on disk.
    await this.s.disk.flush();
    if (kind === 'fifo') makeFifo(path, node.mode);
    else makeDevice(path, kind, node.mode, node.extra?.devmajor ?? 0, node.extra?.devminor ?? 0);
    if (this.owner(node)) {
      lchownSync(path, node.uid, node.gid);
      if (node.mode & 0o7000) chmodSync(path, node.mode);
    }
    utimesSync(path, fsTime(node.mtime), fsTime(node.mtime));
  }

  /** The owner to chown to, when not rootless and not what new files get anyway. */
  private owner(node: FsNode): [number, number] | undefined {
    if (this.s.rootless || (node.uid === this.s.euid && node.gid === this.s.egid)) return undefined;
    return [node.uid, node.gid];
  }
}
