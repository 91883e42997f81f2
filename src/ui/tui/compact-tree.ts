import type { ImageFilesystem } from '../../fs/index.js';
import { TAR_ENTRY_TYPE_CODES, TAR_ENTRY_TYPES, type TarEntryType } from '../../tar/index.js';
import type { BrowseNode, Change } from './browse-tree.js';

/*
 * The browser's trees as typed arrays, one slot a node, instead of an object a node: an
 * object per path with its path string cost ~370 bytes (20 MB for 50k paths, and a tree
 * per layer and mode seen); here a node is ~42 bytes and its name an id into one table of
 * names shared by every tree. The model still sees `BrowseNode`s: small objects made on
 * first access (only the rows shown, or what a filter walks), paths computed from parents.
 */

const DIR = TAR_ENTRY_TYPE_CODES.dir;

/** Change codes in {@link CompactTree.change}: 0 is none. */
const CHANGES: readonly (Change | undefined)[] = [undefined, 'added', 'modified', 'deleted'];
export const ADDED = 1;
export const MODIFIED = 2;
export const DELETED = 3;

/**
 * The names of one browser session's trees, each kept once: a name seen in every layer's
 * tree is one string and each tree holds its 4-byte id.
 */
export class NameTable {
  private readonly ids = new Map<string, number>();
  readonly names: string[] = [];

  /** The id of `name` (interned on first sight). */
  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      // A name sliced out of a path keeps the whole path alive in V8; keep a copy.
      const own = name.length > 12 ? Buffer.from(name, 'utf8').toString('utf8') : name;
      id = this.names.length;
      this.names.push(own);
      this.ids.set(own, id);
    }
    return id;
  }
}

/** One node's fields, as {@link TreeBuilder.add} takes them. */
export interface CompactFields {
  name: number;
  type: number;
  mode: number;
  uid: number;
  gid: number;
  layer: number;
  /** A non-directory's size (directories are summed when the tree is finished). */
  size: number;
  linkname: string | undefined;
  change: number;
}

/**
 * A finished tree: node 0 is `/`, nodes in depth-first order with siblings sorted by
 * name (as the filesystem view walks), so each directory's children are a sorted run of
 * {@link childList}. Sizes of directories are the sums of the non-directories below.
 */
export class CompactTree {
  readonly count: number;
  /** What the tree's layer changed, per node (0 none, else {@link ADDED}, ...); writable. */
  readonly change: Uint8Array;
  readonly #nodes: (BrowseNode | undefined)[];
  readonly #children: (BrowseNode[] | undefined)[];

  constructor(
    readonly names: NameTable,
    readonly name: Int32Array,
    readonly parent: Int32Array,
    readonly type: Uint8Array,
    change: Uint8Array,
    readonly mode: Uint32Array,
    readonly uid: Uint32Array,
    readonly gid: Uint32Array,
    readonly layer: Uint32Array,
    readonly size: Float64Array,
    /** Node i's children are `childList[childStart[i] .. childStart[i + 1])`. */
    readonly childStart: Int32Array,
    readonly childList: Int32Array,
    /** Link targets, by node (few nodes have one). */
    readonly linkname: ReadonlyMap<number, string>,
  ) {
    this.count = name.length;
    this.change = change;
    this.#nodes = new Array(this.count);
    this.#children = [];
  }

  /** True when node `i` is a directory. */
  isDir(i: number): boolean {
    return this.type[i] === DIR;
  }

  /** Node `i`'s children, sorted by name. */
  childrenOf(i: number): Int32Array {
    return this.childList.subarray(this.childStart[i]!, this.childStart[i + 1]!);
  }

  /** Node `i`'s name (`''` for the root). */
  nameOf(i: number): string {
    return this.names.names[this.name[i]!]!;
  }

  /** Node `i`'s absolute path. */
  pathOf(i: number): string {
    if (i === 0) return '/';
    let path = '';
    for (let at = i; at !== 0; at = this.parent[at]!) path = `/${this.nameOf(at)}${path}`;
    return path;
  }

  /** Node `i` as the model sees it, made once (the same object each time). */
  node(i: number): BrowseNode {
    let node = this.#nodes[i];
    if (node === undefined) {
      node = new TreeNode(this, i);
      this.#nodes[i] = node;
    }
    return node;
  }

  /** Node `i`'s children as the model sees them, made once. */
  nodeChildren(i: number): BrowseNode[] | undefined {
    if (!this.isDir(i)) return undefined;
    let kids = this.#children[i];
    if (kids === undefined) {
      kids = Array.from(this.childrenOf(i), (c) => this.node(c));
      this.#children[i] = kids;
    }
    return kids;
  }
}

/** A node of a {@link CompactTree}, read through: nothing is copied but the position. */
class TreeNode implements BrowseNode {
  constructor(
    readonly tree: CompactTree,
    readonly index: number,
  ) {}
  get name(): string {
    return this.tree.nameOf(this.index);
  }
  get path(): string {
    return this.tree.pathOf(this.index);
  }
  get type(): TarEntryType {
    return TAR_ENTRY_TYPES[this.tree.type[this.index]!]!;
  }
  get mode(): number {
    return this.tree.mode[this.index]!;
  }
  get uid(): number {
    return this.tree.uid[this.index]!;
  }
  get gid(): number {
    return this.tree.gid[this.index]!;
  }
  get layer(): number {
    return this.tree.layer[this.index]!;
  }
  get size(): number {
    return this.tree.size[this.index]!;
  }
  get linkname(): string | undefined {
    return this.tree.linkname.get(this.index);
  }
  get change(): Change | undefined {
    return CHANGES[this.tree.change[this.index]!];
  }
  get children(): BrowseNode[] | undefined {
    return this.tree.nodeChildren(this.index);
  }
}

/**
 * Builds a {@link CompactTree} from nodes added in depth-first order with siblings sorted
 * by name, each after its parent. The root (`/`, a plain 0755 directory) is node 0.
 */
export class TreeBuilder {
  private readonly name: number[] = [];
  private readonly parent: number[] = [];
  private readonly type: number[] = [];
  private readonly change: number[] = [];
  private readonly mode: number[] = [];
  private readonly uid: number[] = [];
  private readonly gid: number[] = [];
  private readonly layer: number[] = [];
  private readonly size: number[] = [];
  private readonly linkname = new Map<number, string>();

  constructor(readonly names: NameTable) {
    this.push(-1, {
      name: names.id(''),
      type: DIR,
      mode: 0o755,
      uid: 0,
      gid: 0,
      layer: 0,
      size: 0,
      linkname: undefined,
      change: 0,
    });
  }

  /** Add a node below `parent`; returns its index. */
  push(parent: number, f: CompactFields): number {
    const at = this.name.length;
    this.name.push(f.name);
    this.parent.push(parent);
    this.type.push(f.type);
    this.change.push(f.change);
    this.mode.push(f.mode);
    this.uid.push(f.uid);
    this.gid.push(f.gid);
    this.layer.push(f.layer);
    this.size.push(f.type === DIR ? 0 : f.size);
    if (f.linkname !== undefined) this.linkname.set(at, f.linkname);
    return at;
  }

  /** Add node `i` of `tree` below `parent`, with `change`. */
  copy(parent: number, tree: CompactTree, i: number, change: number): number {
    return this.push(parent, {
      name: tree.name[i]!,
      type: tree.type[i]!,
      mode: tree.mode[i]!,
      uid: tree.uid[i]!,
      gid: tree.gid[i]!,
      layer: tree.layer[i]!,
      size: tree.size[i]!,
      linkname: tree.linkname.get(i),
      change,
    });
  }

  /** The finished tree: children indexed, directory sizes summed bottom up. */
  finish(): CompactTree {
    const n = this.name.length;
    const parent = Int32Array.from(this.parent);
    const size = Float64Array.from(this.size);
    // Descendants come after their directory: summing backwards adds each subtree whole.
    for (let i = n - 1; i > 0; i--) size[parent[i]!]! += size[i]!;
    const childStart = new Int32Array(n + 1);
    for (let i = 1; i < n; i++) childStart[parent[i]! + 1]!++;
    for (let i = 0; i < n; i++) childStart[i + 1]! += childStart[i]!;
    const fill = childStart.slice(0, n);
    const childList = new Int32Array(Math.max(0, n - 1));
    for (let i = 1; i < n; i++) childList[fill[parent[i]!]!++] = i;
    return new CompactTree(
      this.names,
      Int32Array.from(this.name),
      parent,
      Uint8Array.from(this.type),
      Uint8Array.from(this.change),
      Uint32Array.from(this.mode),
      Uint32Array.from(this.uid),
      Uint32Array.from(this.gid),
      Uint32Array.from(this.layer),
      size,
      childStart,
      childList,
      this.linkname,
    );
  }
}

/** Every path of `fs` as a compact tree (no changes marked). */
export function treeOfView(fs: ImageFilesystem, names: NameTable): CompactTree {
  const builder = new TreeBuilder(names);
  // The directories above the entry being added: their paths and node indexes.
  const paths: string[] = ['/'];
  const nodes: number[] = [0];
  fs.forEachEntry('/', (e) => {
    const slash = e.path.lastIndexOf('/');
    const parentPath = slash <= 0 ? '/' : e.path.slice(0, slash);
    while (paths.length > 1 && paths.at(-1) !== parentPath) {
      paths.pop();
      nodes.pop();
    }
    const at = builder.push(nodes.at(-1)!, {
      name: names.id(e.path.slice(slash + 1)),
      type: TAR_ENTRY_TYPE_CODES[e.type],
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      layer: e.layer,
      size: e.size,
      linkname: e.linkname,
      change: 0,
    });
    if (e.type === 'dir') {
      paths.push(e.path);
      nodes.push(at);
    }
  });
  return builder.finish();
}
