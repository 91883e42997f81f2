import type { FsNode } from '../layer-rules/fs-node.js';
import type { TarEntryType } from '../tar/index.js';
import type { LinkCounts } from './link-counts.js';

/**
 * A path of an image's filesystem, as the public API reports it. A hardlink keeps its
 * `type` and `linkname` (what its tar entry said) and shows the file it is another name
 * of: that file's `size`, mode, owner, time and device numbers, as `stat` on the unpacked
 * tree would (they share one inode), with `contentType` saying what that file is.
 */
export interface FsEntry {
  /** Absolute path, e.g. `/etc/os-release`; `/` for the root. */
  path: string;
  type: TarEntryType;
  /** For a hardlink: the type of the file it names (usually `file`); else absent. */
  contentType?: TarEntryType;
  size: number;
  /**
   * Link count, as `stat` reports it on the unpacked tree: a directory has 2 plus its
   * subdirectories; a file one per name it has (its own path, and each hardlink to it).
   */
  nlink: number;
  /** Permission bits (including setuid/setgid/sticky), not the file type. */
  mode: number;
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
  /** Seconds since the epoch (may be fractional). */
  mtime: number;
  /** Symlink target as written; for a hardlink the absolute path of its target. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes; values are raw bytes as latin1 strings. */
  xattrs?: Record<string, string>;
  /** GNU sparse file: the stored content is a sparse map, not plain bytes. */
  sparse?: true;
  /** Index of the layer that last wrote this path (bottom layer 0). */
  layer: number;
  /** Digest of that layer (as given to `applyLayer`). */
  layerDigest: string;
  /** Offset of the entry's first header in that layer's uncompressed tar; -1 if implied. */
  headerOffset: number;
  /** Offset of the entry's content in that layer's uncompressed tar; -1 if implied. */
  dataOffset: number;
  /** True for a directory no layer described, only implied by paths below it. */
  implied?: true;
}

/** The JSON shape the CLI prints for an entry (`ls --json`, `stat --json`). */
export interface EntryJson {
  path: string;
  type: TarEntryType;
  /** A hardlink's: see {@link FsEntry.contentType}. */
  contentType?: TarEntryType;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname?: string;
  /** A file's link count, present when it has more than one name. */
  nlink?: number;
  /** Device numbers of a character or block device. */
  devMajor?: number;
  devMinor?: number;
  layer: number;
}

/**
 * An entry seen during {@link ImageFilesystem.forEachEntry}: the same fields as
 * {@link FsEntry} (absent ones are undefined), valid only until the visitor returns.
 */
export type EntryView = Readonly<FsEntry>;

/** The one mutable object {@link ImageFilesystem.forEachEntry} shows every node through. */
export class NodeView implements EntryView {
  path = '';
  type: FsEntry['type'] = 'file';
  contentType: FsEntry['type'] | undefined = undefined;
  size = 0;
  nlink = 1;
  mode = 0;
  uid = 0;
  gid = 0;
  uname: string | undefined = undefined;
  gname: string | undefined = undefined;
  mtime = 0;
  linkname: string | undefined = undefined;
  devmajor: number | undefined = undefined;
  devminor: number | undefined = undefined;
  xattrs: Record<string, string> | undefined = undefined;
  sparse: true | undefined = undefined;
  layer = 0;
  layerDigest = '';
  headerOffset = 0;
  dataOffset = 0;
  implied: true | undefined = undefined;

  constructor(
    private readonly layers: readonly { digest: string }[],
    private readonly links: LinkCounts,
  ) {}

  /** Show `node` at `path` (the fields {@link entryOf} would copy); returns this view. */
  show(node: FsNode, path: string): this {
    const inode = inodeOf(node);
    this.path = path;
    this.type = node.type;
    this.contentType = inode !== node ? inode.type : undefined;
    this.size = inode.size;
    this.nlink = this.links.of(node);
    this.mode = inode.mode;
    this.uid = inode.uid;
    this.gid = inode.gid;
    this.uname = inode.uname;
    this.gname = inode.gname;
    this.mtime = inode.mtime;
    this.linkname =
      node.linkname !== undefined && node.type === 'hardlink' ? `/${node.linkname}` : node.linkname;
    const x = inode.extra;
    this.devmajor = x?.devmajor;
    this.devminor = x?.devminor;
    this.xattrs = x?.xattrs;
    this.sparse = x?.sparse;
    this.layer = node.layer;
    this.layerDigest = this.layers[node.layer]?.digest ?? '';
    this.headerOffset = node.headerOffset;
    this.dataOffset = node.dataOffset;
    this.implied = node.implied ? true : undefined;
    return this;
  }
}

/**
 * The node holding what `stat` shows for `node`'s name: a hardlink's content (the inode
 * it shares), else the node itself.
 */
function inodeOf(node: FsNode): FsNode {
  return node.type === 'hardlink' ? (node.linkTarget ?? node) : node;
}

/** Snapshot a node as a public {@link FsEntry}. */
export function entryOf(
  node: FsNode,
  path: string,
  layerDigest: string,
  links: LinkCounts,
): FsEntry {
  const inode = inodeOf(node);
  const out: FsEntry = {
    path,
    type: node.type,
    size: inode.size,
    nlink: links.of(node),
    mode: inode.mode,
    uid: inode.uid,
    gid: inode.gid,
    mtime: inode.mtime,
    layer: node.layer,
    layerDigest,
    headerOffset: node.headerOffset,
    dataOffset: node.dataOffset,
  };
  if (inode !== node) out.contentType = inode.type;
  if (inode.uname !== undefined) out.uname = inode.uname;
  if (inode.gname !== undefined) out.gname = inode.gname;
  if (node.linkname !== undefined) {
    out.linkname = node.type === 'hardlink' ? `/${node.linkname}` : node.linkname;
  }
  const x = inode.extra;
  if (x) {
    if (x.devmajor !== undefined) out.devmajor = x.devmajor;
    if (x.devminor !== undefined) out.devminor = x.devminor;
    if (x.xattrs !== undefined) out.xattrs = x.xattrs;
    if (x.sparse) out.sparse = true;
  }
  if (node.implied) out.implied = true;
  return out;
}

/**
 * The CLI JSON shape of an entry: `{path, type, contentType?, size, mode, uid, gid, mtime,
 * linkname?, nlink?, devMajor?, devMinor?, layer}`.
 */
export function toEntryJson(entry: FsEntry): EntryJson {
  const out: EntryJson = {
    path: entry.path,
    type: entry.type,
    size: entry.size,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    mtime: entry.mtime,
    layer: entry.layer,
  };
  if (entry.contentType !== undefined) out.contentType = entry.contentType;
  if (entry.linkname !== undefined) out.linkname = entry.linkname;
  if (entry.type !== 'dir' && entry.nlink > 1) {
    out.nlink = entry.nlink;
  }
  const device = entry.contentType ?? entry.type;
  if (device === 'char' || device === 'block') {
    out.devMajor = entry.devmajor ?? 0;
    out.devMinor = entry.devminor ?? 0;
  }
  return out;
}
