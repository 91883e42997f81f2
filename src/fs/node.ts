import type { FsNode } from '../layer-rules/fs-node.js';
import type { TarEntryType } from '../tar/index.js';

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
