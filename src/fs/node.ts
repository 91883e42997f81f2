import type { TarEntry, TarEntryType } from '../tar/index.js';

/** Rarely present metadata, kept out of the node so the common node stays small. */
export interface NodeExtra {
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, string>;
  sparse?: true;
}

/**
 * One path of the merged view. Internal: nodes are mutable and cheap (a fixed-shape object
 * whose name lives only as the key in its parent's map); the public API hands out
 * {@link FsEntry} snapshots instead.
 */
export class FsNode {
  /** Children by name; present on directories only. */
  children: Map<string, FsNode> | undefined;
  linkname: string | undefined;
  uname: string | undefined;
  gname: string | undefined;
  extra: NodeExtra | undefined;
  /** For hardlinks: the content node the link pointed at when its layer was applied. */
  linkTarget: FsNode | undefined;

  constructor(
    public type: TarEntryType,
    public size: number,
    public mode: number,
    public uid: number,
    public gid: number,
    public mtime: number,
    /** Index of the layer that last wrote this path (bottom layer 0). */
    public layer: number,
    /** Offsets in that layer's uncompressed tar; -1 for a directory no entry described. */
    public headerOffset: number,
    public dataOffset: number,
  ) {
    this.children = type === 'dir' ? new Map() : undefined;
    this.linkname = undefined;
    this.uname = undefined;
    this.gname = undefined;
    this.extra = undefined;
    this.linkTarget = undefined;
  }

  /** A directory that exists only because entries below it need it (no tar entry of its own). */
  get implied(): boolean {
    return this.headerOffset < 0;
  }

  /** A directory created to hold entries, with the permissions extractors give such dirs. */
  static impliedDir(layer: number): FsNode {
    return new FsNode('dir', 0, 0o755, 0, 0, 0, layer, -1, -1);
  }

  /** Turn this directory into one implied by `layer` (metadata reset, children kept). */
  resetImplied(layer: number): void {
    this.mode = 0o755;
    this.uid = 0;
    this.gid = 0;
    this.mtime = 0;
    this.layer = layer;
    this.headerOffset = -1;
    this.dataOffset = -1;
    this.uname = undefined;
    this.gname = undefined;
    this.extra = undefined;
  }

  /** Copy the metadata of `e` (not children) onto this node. */
  assign(e: TarEntry, layer: number, intern: (s: string | undefined) => string | undefined) {
    this.size = e.type === 'dir' ? 0 : e.size;
    this.mode = e.mode;
    this.uid = e.uid;
    this.gid = e.gid;
    this.mtime = e.mtime;
    this.layer = layer;
    this.headerOffset = e.headerOffset;
    this.dataOffset = e.dataOffset;
    this.linkname = e.linkname;
    this.uname = intern(e.uname);
    this.gname = intern(e.gname);
    this.extra =
      e.devmajor !== undefined || e.xattrs !== undefined || e.sparse
        ? { devmajor: e.devmajor, devminor: e.devminor, xattrs: e.xattrs, sparse: e.sparse }
        : undefined;
  }
}

/** A path of an image's filesystem, as the public API reports it. */
export interface FsEntry {
  /** Absolute path, e.g. `/etc/os-release`; `/` for the root. */
  path: string;
  type: TarEntryType;
  size: number;
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
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname?: string;
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
  size = 0;
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

  constructor(private readonly layers: readonly { digest: string }[]) {}

  /** Show `node` at `path` (the fields {@link entryOf} would copy); returns this view. */
  show(node: FsNode, path: string): this {
    this.path = path;
    this.type = node.type;
    this.size = node.size;
    this.mode = node.mode;
    this.uid = node.uid;
    this.gid = node.gid;
    this.uname = node.uname;
    this.gname = node.gname;
    this.mtime = node.mtime;
    this.linkname =
      node.linkname !== undefined && node.type === 'hardlink' ? `/${node.linkname}` : node.linkname;
    const x = node.extra;
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

/** Snapshot a node as a public {@link FsEntry}. */
export function entryOf(node: FsNode, path: string, layerDigest: string): FsEntry {
  const out: FsEntry = {
    path,
    type: node.type,
    size: node.size,
    mode: node.mode,
    uid: node.uid,
    gid: node.gid,
    mtime: node.mtime,
    layer: node.layer,
    layerDigest,
    headerOffset: node.headerOffset,
    dataOffset: node.dataOffset,
  };
  if (node.uname !== undefined) out.uname = node.uname;
  if (node.gname !== undefined) out.gname = node.gname;
  if (node.linkname !== undefined) {
    out.linkname = node.type === 'hardlink' ? `/${node.linkname}` : node.linkname;
  }
  const x = node.extra;
  if (x) {
    if (x.devmajor !== undefined) out.devmajor = x.devmajor;
    if (x.devminor !== undefined) out.devminor = x.devminor;
    if (x.xattrs !== undefined) out.xattrs = x.xattrs;
    if (x.sparse) out.sparse = true;
  }
  if (node.implied) out.implied = true;
  return out;
}

/** The CLI JSON shape of an entry: `{path, type, size, mode, uid, gid, mtime, linkname?, layer}`. */
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
  if (entry.linkname !== undefined) out.linkname = entry.linkname;
  return out;
}
