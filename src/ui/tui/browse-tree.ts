import type { EntryView, FsEntry, ImageFilesystem } from '../../fs/index.js';

/** What the selected layer did to a path. */
export type Change = 'added' | 'modified' | 'deleted';

/**
 * One path of the tree the browser shows: the entry's path, type, mode, owner, link
 * target and the layer that last wrote it (as {@link FsEntry} has them), and more.
 */
export interface BrowseNode
  extends Pick<FsEntry, 'path' | 'type' | 'mode' | 'uid' | 'gid' | 'linkname' | 'layer'> {
  /** Last path segment (`''` for the root); raw, escape before printing. */
  name: string;
  /** A file's size; a directory's is the sum of the non-directories below it. */
  size: number;
  /** What the selected layer did here, if anything. */
  change?: Change;
  /** A directory's children, sorted by name. */
  children?: BrowseNode[];
}

/** A path as the tree keeps it: the fields of an entry the browser shows. */
export type NodeFields = Omit<BrowseNode, 'name' | 'children' | 'change'>;

/** Copy what the tree needs out of a (possibly reused) entry view. */
export function nodeFields(e: EntryView): NodeFields {
  const out: NodeFields = {
    path: e.path,
    type: e.type,
    size: e.type === 'dir' ? 0 : e.size,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    layer: e.layer,
  };
  if (e.linkname !== undefined) out.linkname = e.linkname;
  return out;
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/**
 * Assemble nodes into a tree under `/`, marking each with its change; `fields` become the
 * nodes (give fresh ones, e.g. {@link nodeFields}' results). Parents missing
 * from `fields` (the directories above a change, in a per-layer tree) are made from
 * `lookup`, or as plain directories. Directory sizes are summed bottom up.
 */
export function assembleTree(
  fields: Iterable<NodeFields>,
  changes: ReadonlyMap<string, Change>,
  lookup: (path: string) => NodeFields | undefined,
): BrowseNode {
  const root: BrowseNode = {
    name: '',
    path: '/',
    type: 'dir',
    size: 0,
    mode: 0o755,
    uid: 0,
    gid: 0,
    layer: 0,
  };
  root.children = [];
  const dirs = new Map<string, BrowseNode>([['/', root]]);
  const dirFor = (path: string): BrowseNode => {
    const known = dirs.get(path);
    if (known) return known;
    const made = makeNode(lookup(path) ?? plainDir(path), changes);
    made.children ??= [];
    dirFor(parentOf(path)).children!.push(made);
    dirs.set(path, made);
    return made;
  };
  for (const f of fields) {
    if (f.path === '/') continue;
    const existing = dirs.get(f.path);
    if (existing) continue;
    const node = makeNode(f, changes);
    if (node.type === 'dir') {
      node.children = [];
      dirs.set(f.path, node);
    }
    dirFor(parentOf(f.path)).children!.push(node);
  }
  sortAndSum(root);
  return root;
}

function plainDir(path: string): NodeFields {
  return { path, type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0, layer: 0 };
}

/**
 * `f` made the tree's node in place (fields are fresh copies made for this tree): a tree of
 * 50k paths then holds one object per path, not a copy of each besides.
 */
function makeNode(f: NodeFields, changes: ReadonlyMap<string, Change>): BrowseNode {
  const node = f as BrowseNode;
  node.name = f.path.slice(f.path.lastIndexOf('/') + 1);
  const change = changes.get(f.path);
  if (change) node.change = change;
  return node;
}

function sortAndSum(node: BrowseNode): number {
  if (!node.children) return node.size;
  node.children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let total = 0;
  for (const child of node.children) total += sortAndSum(child);
  node.size = total;
  return total;
}

/** Every path of `fs` as node fields, depth first (the root included). */
export function fieldsOf(fs: ImageFilesystem): NodeFields[] {
  const out: NodeFields[] = [];
  fs.forEachEntry('/', (e) => out.push(nodeFields(e)), { includeRoot: true });
  return out;
}

/**
 * What layer `index` changed, comparing the merged trees below it (`before`) and through it
 * (`after`), both built by the layer rules: a path it wrote is `added` when nothing was
 * there below and `modified` otherwise (a directory only when its mode or owner changed);
 * a path there below and gone now is `deleted`.
 */
export function layerChanges(
  before: ImageFilesystem,
  after: ImageFilesystem,
  index: number,
): { changes: Map<string, Change>; deleted: NodeFields[] } {
  const changes = new Map<string, Change>();
  after.forEachEntry('/', (e) => {
    if (e.layer !== index) return;
    const old = lstatOrUndefined(before, e.path);
    if (old === undefined) changes.set(e.path, 'added');
    else if (e.type !== 'dir' || old.type !== 'dir') changes.set(e.path, 'modified');
    else if (old.mode !== e.mode || old.uid !== e.uid || old.gid !== e.gid) {
      changes.set(e.path, 'modified');
    }
  });
  const deleted: NodeFields[] = [];
  before.forEachEntry('/', (e) => {
    if (after.exists(e.path, { follow: false })) return;
    changes.set(e.path, 'deleted');
    deleted.push(nodeFields(e));
  });
  return { changes, deleted };
}

function lstatOrUndefined(fs: ImageFilesystem, path: string): NodeFields | undefined {
  if (!fs.exists(path, { follow: false })) return undefined;
  try {
    const e = fs.lstat(path);
    return nodeFields(e);
  } catch {
    return undefined;
  }
}
