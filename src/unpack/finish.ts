import { closeSync, openSync, writeSync } from 'node:fs';
import type { FsNode } from '../layer-rules/fs-node.js';
import { joinRelative } from '../layer-rules/index.js';
import { fsPath } from '../tar/index.js';
import type { DiskWriter } from './disk-writer.js';
import type { LayerApplier } from './layer-applier.js';
import { setXattrs, type XattrItem } from './special-files.js';
import type { OwnershipEntry, OwnershipRecord, UnpackResult } from './types.js';

/** What the final pass needs besides the applier. */
export interface FinishSettings {
  rootless: boolean;
  /** Rootless: also store owners in `user.rootlesscontainers` xattrs (as umoci does). */
  ownerXattrs: boolean;
  euid: number;
  egid: number;
  warn(message: string): void;
  signal?: AbortSignal;
}

/** Counts of the final tree, as {@link UnpackResult} reports them. */
export type TreeCounts = Pick<
  UnpackResult,
  'files' | 'dirs' | 'symlinks' | 'hardlinks' | 'fifos' | 'devices'
>;

/** What the final pass leaves to do after its directory calls: the xattrs, and counts. */
export interface FinishPlan {
  counts: TreeCounts;
  xattrs: XattrItem[];
}

/**
 * Queue on `disk` each directory's owner, mode and mtime (children first: writing a child
 * changes its directory's mtime, and a read-only directory must stay writable until its
 * children are in), count the tree, and collect the extended attributes to set once those
 * calls are done ({@link setTreeXattrs}, after every chown, which clears file
 * capabilities). The calls run on the writer thread while the caller goes on.
 */
export function finishTree(applier: LayerApplier, disk: DiskWriter, s: FinishSettings): FinishPlan {
  const counts: TreeCounts = { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, fifos: 0, devices: 0 };
  const xattrs: XattrItem[] = [];
  let skippedXattrs = 0;
  // Hardlinked names share one inode: its xattrs are set once, through its first name.
  // Only the few inodes a hardlink names are remembered (a set of every node cost MBs).
  const linked = applier.hardlinkTargets;
  const seen = new Set<FsNode>();
  walkTreeAfter(applier.root, (node, parent, leaf) => {
    const inode = contentOf(node);
    if (node.type === 'hardlink') counts.hardlinks++;
    else if (node.type === 'file') counts.files++;
    else if (node.type === 'symlink') counts.symlinks++;
    else if (node.type === 'fifo') counts.fifos++;
    else if (node.type === 'char' || node.type === 'block') counts.devices++;
    else if (parent !== '') counts.dirs++;
    const firstName = !linked.has(inode) || !seen.has(inode);
    if (firstName && linked.has(inode)) seen.add(inode);
    const nodeXattrs = inode.extra?.xattrs;
    if (nodeXattrs && firstName) {
      for (const [name, value] of Object.entries(nodeXattrs)) {
        if (s.rootless && !name.startsWith('user.')) skippedXattrs++;
        else xattrs.push({ abs: fsPath(applier.abs(pathIn(parent, leaf))), name, value });
      }
    }
    if (s.rootless && s.ownerXattrs && inode.type !== 'symlink' && firstName) {
      const value = rootlessOwnerValue(inode.uid, inode.gid);
      if (value !== '') {
        xattrs.push({
          abs: fsPath(applier.abs(pathIn(parent, leaf))),
          name: ROOTLESS_XATTR,
          value,
        });
      }
    }
    if (node.type === 'dir' && !node.implied) {
      finishDir(applier.abs(parent), node, applier.diskModes.get(node), disk, s);
    }
  });
  if (skippedXattrs > 0) {
    s.warn(`${skippedXattrs} xattrs outside the user.* namespace not set (rootless)`);
  }
  return { counts, xattrs };
}

/** Set the plan's xattrs (once its directory calls are done); failures become warnings. */
export function setTreeXattrs(plan: FinishPlan, s: FinishSettings): void {
  s.signal?.throwIfAborted();
  for (const message of setXattrs(plan.xattrs)) s.warn(message);
}

/** The xattr umoci and other rootless tools keep a path's intended owner in. */
export const ROOTLESS_XATTR = 'user.rootlesscontainers';

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/**
 * The rootlesscontainers.io `Resource {uint32 uid = 1; uint32 gid = 2;}` protobuf as a
 * latin1 string; empty for root:root, which needs no record (proto3 omits zero fields).
 */
export function rootlessOwnerValue(uid: number, gid: number): string {
  if (uid === 0 && gid === 0) return '';
  const bytes = [
    ...(uid === 0 ? [] : [0x08, ...varint(uid)]),
    ...(gid === 0 ? [] : [0x10, ...varint(gid)]),
  ];
  return Buffer.from(bytes).toString('latin1');
}

function finishDir(
  abs: string,
  node: FsNode,
  diskMode: number | undefined,
  disk: DiskWriter,
  s: FinishSettings,
): void {
  const { uid, gid, mode, mtime } = node;
  const chown = !s.rootless && (uid !== s.euid || gid !== s.egid);
  disk.setDir(abs, chown ? [uid, gid] : undefined, mode !== diskMode ? mode : undefined, mtime);
}

/** The node holding a name's inode: a hardlink's content, else the node itself. */
function contentOf(node: FsNode): FsNode {
  return node.type === 'hardlink' ? node.linkTarget! : node;
}

/**
 * Call `visit` on `node` (at root-relative `path`) and then everything below it. A
 * callback rather than a recursive generator: `yield*` passes every node up through one
 * generator per level, which cost more than the visits on deep trees.
 */
function walkTree(node: FsNode, path: string, visit: (node: FsNode, path: string) => void): void {
  visit(node, path);
  if (node.children) {
    for (const [name, child] of node.children) {
      walkTree(child, joinRelative(path, name), visit);
    }
  }
}

/** The path {@link walkTreeAfter} visits: a directory's `parent`, else `parent/leaf`. */
function pathIn(parent: string, leaf: string | undefined): string {
  return leaf === undefined ? parent : joinRelative(parent, leaf);
}

/**
 * Like {@link walkTree}, but directories after their children, for the final pass:
 * `visit(node, parent, leaf)` gets a directory's own path as `parent` (and no leaf), a
 * leaf its directory's path and its name, so that the path of each of the ~50,000 files
 * is only made when it is needed ({@link pathIn}).
 */
function walkTreeAfter(
  root: FsNode,
  visit: (node: FsNode, parent: string, leaf: string | undefined) => void,
): void {
  const walk = (dir: FsNode, path: string): void => {
    for (const [name, child] of dir.children!) {
      if (child.children) walk(child, joinRelative(path, name));
      else visit(child, path, name);
    }
    visit(dir, path, undefined);
  };
  if (root.children) walk(root, '');
  else visit(root, '', undefined);
}

/** Each path of the rootless ownership record (`/etc/passwd`) with its entry, in tree order. */
function forEachOwnership(root: FsNode, visit: (path: string, entry: OwnershipEntry) => void) {
  walkTree(root, '', (node, path) => {
    if (path === '' && node.implied) return;
    const { type, uid, gid, mode } = contentOf(node);
    visit(`/${path}`, { type: type as OwnershipEntry['type'], uid, gid, mode });
  });
}

/**
 * Characters JSON.stringify escapes in a string; surrogates too, since a name's bytes that
 * are not UTF-8 are lone surrogates (`tar/name-codec.ts`) that JSON writes as `\udcXX`.
 */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The intended owner and mode of every path, for rootless unpacks. */
export function ownershipOf(root: FsNode): OwnershipRecord {
  const entries: OwnershipRecord['entries'] = {};
  forEachOwnership(root, (path, entry) => {
    entries[path] = entry;
  });
  return { version: 1, entries };
}

/** Bytes gathered before they are written out (see {@link writeOwnershipFile}). */
const OWNERSHIP_CHUNK = 256 * 1024;

/**
 * Write `JSON.stringify(ownershipOf(root))` and a newline to `path`, entry by entry, in
 * pieces of ~256 KiB. For the ~55,000 paths of an application image, building the object
 * (one dictionary key per path) and stringifying it took ~0.25 s of a 4 s unpack, and the
 * whole text held at once was the peak of the unpack's memory (+40 MB). Written as text
 * pieces (a path string per node, a regular expression over each whole path, the text
 * flattened into bytes) it still took 90-170 ms, all of it after the last file is written
 * (bench/ANALYSIS.md, tenth session): so the bytes are written straight into a buffer,
 * each path from its parent's bytes and its own name's, each name tested once, and the
 * few distinct `{"type"…}` tails kept as bytes. A path holding a character JSON escapes
 * (quotes, backslashes, control characters, surrogates: a name's bytes that are not
 * UTF-8 are lone surrogates, `tar/name-codec.ts`) is written as `JSON.stringify` writes
 * it.
 */
export function writeOwnershipFile(root: FsNode, path: string): void {
  const fd = openSync(path, 'w');
  try {
    new OwnershipWriter(fd).write(root);
  } finally {
    closeSync(fd);
  }
}

/** The walk of {@link writeOwnershipFile}, with its buffers. */
class OwnershipWriter {
  private out = Buffer.allocUnsafe(OWNERSHIP_CHUNK + 4096);
  private at = 0;
  /** The current path's UTF-8 bytes (`/a/b`), its parent's a prefix of it. */
  private pathBytes = Buffer.allocUnsafe(4096);
  /** The names from the root down to the current path (for the escaped writing). */
  private readonly names: string[] = [];
  /** `":{"type":…}` of an owner 0:0, by type and mode. */
  private readonly tails = new Map<number, Buffer>();
  private first = true;

  constructor(private readonly fd: number) {}

  write(root: FsNode): void {
    this.text('{"version":1,"entries":{');
    this.pathBytes[0] = 0x2f; // the root is `/`
    if (!root.implied) this.entry(root, 1, true);
    this.children(root, 0, true);
    this.text('}}\n');
    this.flush();
  }

  /** The entries below `dir`, whose path is `pathBytes[0, length)` (`''` for the root). */
  private children(dir: FsNode, length: number, clean: boolean): void {
    if (!dir.children) return;
    const depth = this.names.length;
    for (const [name, child] of dir.children) {
      this.names[depth] = name;
      // `/` and the name's UTF-8 (at most 3 bytes per UTF-16 unit).
      const room = length + 1 + name.length * 3;
      if (room > this.pathBytes.length) {
        const bigger = Buffer.allocUnsafe(room * 2);
        this.pathBytes.copy(bigger, 0, 0, length);
        this.pathBytes = bigger;
      }
      const bytes = this.pathBytes;
      bytes[length] = 0x2f; // '/'
      // Most names are ASCII: copied here, and tested for what JSON escapes on the way
      // (control characters, `"`, `\`); any other name through Buffer#write and the
      // regular expression (surrogates).
      const at = length + 1;
      let escapes = false;
      let ascii = true;
      for (let i = 0; i < name.length; i++) {
        const c = name.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        if (c < 0x20 || c === 0x22 || c === 0x5c) escapes = true;
        bytes[at + i] = c;
      }
      let childLength: number;
      if (ascii) {
        childLength = at + name.length;
      } else {
        childLength = at + bytes.write(name, at, 'utf8');
        escapes = NEEDS_ESCAPE.test(name);
      }
      const childClean = clean && !escapes;
      this.entry(child, childLength, childClean);
      if (child.children) this.children(child, childLength, childClean);
    }
    this.names.length = depth;
  }

  private entry(node: FsNode, length: number, clean: boolean): void {
    const { type, uid, gid, mode } = contentOf(node);
    this.room(length + 96);
    if (!this.first) this.out[this.at++] = 0x2c; // ','
    this.first = false;
    if (clean) {
      this.out[this.at++] = 0x22; // '"'
      this.at += this.pathBytes.copy(this.out, this.at, 0, length);
      this.out[this.at++] = 0x22;
    } else {
      this.text(JSON.stringify(`/${this.names.join('/')}`));
    }
    const code = TYPE_CODES[type];
    if (uid === 0 && gid === 0 && code !== undefined && mode >= 0 && mode < 0x10000) {
      const key = code * 0x10000 + mode;
      let tail = this.tails.get(key);
      if (tail === undefined) {
        tail = Buffer.from(ownershipTail(type, uid, gid, mode));
        this.tails.set(key, tail);
      }
      this.room(tail.length);
      this.out.set(tail, this.at);
      this.at += tail.length;
    } else {
      this.text(ownershipTail(type, uid, gid, mode));
    }
    if (this.at >= OWNERSHIP_CHUNK) this.flush();
  }

  /** `text` as UTF-8. */
  private text(text: string): void {
    this.room(text.length * 3);
    this.at += this.out.write(text, this.at, 'utf8');
  }

  /** Make room for `bytes` more: what is gathered goes out first, a longer buffer if need be. */
  private room(bytes: number): void {
    if (this.at + bytes <= this.out.length) return;
    this.flush();
    if (bytes > this.out.length) this.out = Buffer.allocUnsafe(bytes);
  }

  private flush(): void {
    let done = 0;
    while (done < this.at) done += writeSync(this.fd, this.out, done, this.at - done);
    this.at = 0;
  }
}

/** What follows an ownership entry's path (types are plain words: nothing to escape). */
function ownershipTail(type: string, uid: number, gid: number, mode: number): string {
  return `:{"type":"${type}","uid":${uid},"gid":${gid},"mode":${mode}}`;
}

/** A number per node type, for the keys of {@link OwnershipWriter}'s tails. */
const TYPE_CODES: Record<string, number> = {
  file: 0,
  dir: 1,
  symlink: 2,
  hardlink: 3,
  fifo: 4,
  char: 5,
  block: 6,
};
