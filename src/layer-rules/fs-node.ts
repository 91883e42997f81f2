import {
  TAR_ENTRY_TYPE_CODES,
  TAR_ENTRY_TYPES,
  type TarEntry,
  type TarEntryType,
} from '../tar/index.js';

/** Shortest string V8 cuts as a view into its source instead of copying (SlicedString). */
const SLICE_MIN_LENGTH = 13;

/**
 * `name` as a string of its own, to be kept as a key of the tree. A name cut from an
 * entry's path (`slice`, `split`) is, in V8, a view of that path when it is 13 characters
 * or longer, and the view keeps the whole path alive for as long as the tree lives: on an
 * application image that was a third of the tree's strings. JSON's round trip is the
 * cheapest way found to make a plain copy (bench/ANALYSIS.md, twelfth session).
 */
export function ownName(name: string): string {
  return name.length < SLICE_MIN_LENGTH ? name : (JSON.parse(JSON.stringify(name)) as string);
}

/**
 * Rarely present metadata, kept out of the node so the common node stays small: device
 * numbers, xattrs, sparse, and a hardlink's content node. Always of this one shape.
 */
export interface NodeExtra {
  devmajor: number | undefined;
  devminor: number | undefined;
  xattrs: Record<string, string> | undefined;
  sparse: true | undefined;
  /** For hardlinks: the content node the link pointed at when its layer was applied. */
  linkTarget: FsNode | undefined;
}

/** Bits of {@link FsNode}'s type code; the layer index is above them. */
const TYPE_BITS = 3;
const TYPE_MASK = (1 << TYPE_BITS) - 1;

/** Who owns a node; one object shared by every node of equal owner (see {@link Owners}). */
export interface Owner {
  readonly uid: number;
  readonly gid: number;
  readonly uname: string | undefined;
  readonly gname: string | undefined;
}

/** The owner of implied directories and of a fresh node. */
const NO_OWNER: Owner = { uid: 0, gid: 0, uname: undefined, gname: undefined };

/**
 * Gives nodes of equal owners one shared {@link Owner}. A tree has a few owners and tens of
 * thousands of nodes: one field a node instead of four (uid, gid, uname, gname) is 24
 * bytes less a node (bench/ANALYSIS.md, twelfth session). The previous entry's owner is
 * tried first, since the entries of a layer mostly share one.
 */
export class Owners {
  private readonly known = new Map<string, Owner>();
  private last: Owner = NO_OWNER;

  /** The shared owner of entry `e`. */
  of(e: TarEntry): Owner {
    const last = this.last;
    if (
      e.uid === last.uid &&
      e.gid === last.gid &&
      e.uname === last.uname &&
      e.gname === last.gname
    ) {
      return last;
    }
    const key = JSON.stringify([e.uid, e.gid, e.uname ?? null, e.gname ?? null]);
    let owner = this.known.get(key);
    if (owner === undefined) {
      owner = { uid: e.uid, gid: e.gid, uname: e.uname, gname: e.gname };
      this.known.set(key, owner);
    }
    this.last = owner;
    return owner;
  }
}

/**
 * One path of the tree the layer rules keep (the merged view's tree, and unpack's model of
 * its directory). Internal: nodes are mutable and cheap (a fixed-shape object whose name
 * lives only as the key in its parent's map, its owner shared with other nodes); the
 * public API hands out `FsEntry` snapshots instead (`fs/node.ts`).
 */
export class FsNode {
  /** Children by name; present on directories only. */
  children: Map<string, FsNode> | undefined;
  linkname: string | undefined;
  /** uid, gid, uname and gname, shared (see {@link Owners}). */
  owner: Owner;
  extra: NodeExtra | undefined;
  /**
   * The type's code (low {@link TYPE_BITS} bits) and the index of the layer that last
   * wrote this path (bottom layer 0), in one small integer: one field less a node.
   */
  private typeAndLayer: number;

  constructor(
    type: TarEntryType,
    public size: number,
    public mode: number,
    public mtime: number,
    layer: number,
    /** Offsets in that layer's uncompressed tar; -1 for a directory no entry described. */
    public headerOffset: number,
    public dataOffset: number,
  ) {
    this.children = type === 'dir' ? new Map() : undefined;
    this.linkname = undefined;
    this.owner = NO_OWNER;
    this.extra = undefined;
    this.typeAndLayer = TAR_ENTRY_TYPE_CODES[type] | (layer << TYPE_BITS);
  }

  get type(): TarEntryType {
    return TAR_ENTRY_TYPES[this.typeAndLayer & TYPE_MASK]!;
  }

  /** Index of the layer that last wrote this path (bottom layer 0). */
  get layer(): number {
    return this.typeAndLayer >>> TYPE_BITS;
  }

  private set layer(layer: number) {
    this.typeAndLayer = (this.typeAndLayer & TYPE_MASK) | (layer << TYPE_BITS);
  }

  get uid(): number {
    return this.owner.uid;
  }

  get gid(): number {
    return this.owner.gid;
  }

  get uname(): string | undefined {
    return this.owner.uname;
  }

  get gname(): string | undefined {
    return this.owner.gname;
  }

  /** For hardlinks: the content node the link pointed at when its layer was applied. */
  get linkTarget(): FsNode | undefined {
    return this.extra?.linkTarget;
  }

  set linkTarget(target: FsNode | undefined) {
    const x = this.extra;
    if (x !== undefined) x.linkTarget = target;
    else if (target !== undefined)
      this.extra = newExtra(undefined, undefined, undefined, undefined, target);
  }

  /** A directory that exists only because entries below it need it (no tar entry of its own). */
  get implied(): boolean {
    return this.headerOffset < 0;
  }

  /** A directory created to hold entries, with the permissions extractors give such dirs. */
  static impliedDir(layer: number): FsNode {
    return new FsNode('dir', 0, 0o755, 0, layer, -1, -1);
  }

  /** Turn this directory into one implied by `layer` (metadata reset, children kept). */
  resetImplied(layer: number): void {
    this.mode = 0o755;
    this.owner = NO_OWNER;
    this.mtime = 0;
    this.layer = layer;
    this.headerOffset = -1;
    this.dataOffset = -1;
    this.extra = undefined;
  }

  /** Copy the metadata of `e` (not children, nor a hardlink's content) onto this node. */
  assign(e: TarEntry, layer: number, owners: Owners) {
    this.size = e.type === 'dir' ? 0 : e.size;
    this.mode = e.mode;
    this.owner = owners.of(e);
    this.mtime = e.mtime;
    this.layer = layer;
    this.headerOffset = e.headerOffset;
    this.dataOffset = e.dataOffset;
    this.linkname = e.linkname;
    this.extra =
      e.devmajor !== undefined || e.xattrs !== undefined || e.sparse
        ? newExtra(e.devmajor, e.devminor, e.xattrs, e.sparse, undefined)
        : undefined;
  }
}

function newExtra(
  devmajor: number | undefined,
  devminor: number | undefined,
  xattrs: Record<string, string> | undefined,
  sparse: true | undefined,
  linkTarget: FsNode | undefined,
): NodeExtra {
  return { devmajor, devminor, xattrs, sparse, linkTarget };
}
