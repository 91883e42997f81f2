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
  walkTree(
    applier.root,
    '',
    (node, path) => {
      const inode = contentOf(node);
      if (node.type === 'hardlink') counts.hardlinks++;
      else if (node.type === 'file') counts.files++;
      else if (node.type === 'symlink') counts.symlinks++;
      else if (node.type === 'fifo') counts.fifos++;
      else if (node.type === 'char' || node.type === 'block') counts.devices++;
      else if (path !== '') counts.dirs++;
      const firstName = !linked.has(inode) || !seen.has(inode);
      if (firstName && linked.has(inode)) seen.add(inode);
      const nodeXattrs = inode.extra?.xattrs;
      if (nodeXattrs && firstName) {
        for (const [name, value] of Object.entries(nodeXattrs)) {
          if (s.rootless && !name.startsWith('user.')) skippedXattrs++;
          else xattrs.push({ abs: fsPath(applier.abs(path)), name, value });
        }
      }
      if (s.rootless && s.ownerXattrs && inode.type !== 'symlink' && firstName) {
        const value = rootlessOwnerValue(inode.uid, inode.gid);
        if (value !== '') {
          xattrs.push({ abs: fsPath(applier.abs(path)), name: ROOTLESS_XATTR, value });
        }
      }
      if (node.type === 'dir' && !node.implied) {
        finishDir(applier.abs(path), node, applier.diskModes.get(node), disk, s);
      }
    },
    true,
  );
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
 * Call `visit` on `node` (at root-relative `path`) and everything below it; directories
 * after their children when `post`. A callback rather than a recursive generator: `yield*`
 * passes every node up through one generator per level, which cost more than the visits
 * on deep trees.
 */
function walkTree(
  node: FsNode,
  path: string,
  visit: (node: FsNode, path: string) => void,
  post = false,
): void {
  if (!post) visit(node, path);
  if (node.children) {
    for (const [name, child] of node.children) {
      walkTree(child, joinRelative(path, name), visit, post);
    }
  }
  if (post) visit(node, path);
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

/** Text gathered before it is written out (see {@link writeOwnershipFile}). */
const OWNERSHIP_CHUNK = 256 * 1024;

/**
 * Write `JSON.stringify(ownershipOf(root))` and a newline to `path`, entry by entry, in
 * pieces of ~256 KiB: for the ~55,000 paths of an application image, building the object
 * (one dictionary key per path) and stringifying it took ~0.25 s of a 4 s unpack, and the
 * whole text held at once (every entry's string, then their join) was the peak of the
 * unpack's memory (+40 MB); pieces die young.
 */
export function writeOwnershipFile(root: FsNode, path: string): void {
  const fd = openSync(path, 'w');
  try {
    let text = '{"version":1,"entries":{';
    let first = true;
    forEachOwnership(root, (p, entry) => {
      // Spelled out: JSON.stringify of each small object is ~3x slower here. Types are
      // plain words; most paths need no escaping (quotes, backslashes, control characters do).
      const { type, uid, gid, mode } = entry;
      const name = NEEDS_ESCAPE.test(p) ? JSON.stringify(p) : `"${p}"`;
      text += `${first ? '' : ','}${name}:{"type":"${type}","uid":${uid},"gid":${gid},"mode":${mode}}`;
      first = false;
      if (text.length >= OWNERSHIP_CHUNK) {
        writeAll(fd, text);
        text = '';
      }
    });
    writeAll(fd, `${text}}}\n`);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let at = 0;
  while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
}
