/**
 * The in-memory model of what unpack has put into DIR so far.
 *
 * Why a model instead of asking the disk (lstat per component, realpath per entry, as
 * securejoin does): DIR starts empty and only unpack writes to it, so the model knows the
 * type of every path without a syscall. Symlinks are resolved against the model with
 * securejoin's semantics (targets evaluated relative to DIR, absolute targets start at DIR,
 * `..` stops at DIR), so the path handed to the kernel only ever goes through real
 * directories that unpack created itself; the last component is never followed (it is
 * unlinked first and created with O_EXCL|O_NOFOLLOW). That is both the security argument
 * and most of the speed.
 */

/** What kind of filesystem object a node is on disk. */
export type NodeKind = 'dir' | 'file' | 'symlink' | 'fifo' | 'char' | 'block';

/** Owner, mode and times of an inode (shared by the names of a hardlink group). */
export interface NodeMeta {
  uid: number;
  gid: number;
  /** Permission bits with setuid/setgid/sticky. */
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  xattrs?: Record<string, string>;
}

/** One path in DIR. */
export interface TreeNode {
  name: string;
  /** The directory holding this node (the root is its own parent). */
  parent: TreeNode;
  /** Path relative to DIR without leading slash; `''` for DIR itself. */
  path: string;
  kind: NodeKind;
  /** The highest layer that wrote this node or wrote something through it. */
  layer: number;
  meta: NodeMeta;
  /** Created as a hard link to an earlier node. */
  hardlink?: boolean;
  /** Symlink target as written in the layer. */
  target?: string;
  children?: Map<string, TreeNode>;
  /** Directories: created implicitly as the parent of an entry (no metadata of its own). */
  implicit?: boolean;
  /** Directories: the permission bits they were created with (before the final chmod). */
  diskMode?: number;
}

/** Symlinks followed before resolution gives up, as Linux's MAXSYMLINKS. */
export const MAX_HOPS = 40;

/** A path split into confined segments, and whether `..` tried to climb above the root. */
export interface CleanPath {
  segs: string[];
  climbed: boolean;
}

/** Split `path` lexically (like `filepath.Clean("/" + path)`): `..` never leaves the root. */
export function cleanPath(path: string): CleanPath {
  let climbed = false;
  if (!path.includes('..') && !path.includes('//') && !path.includes('./')) {
    const p = path.charCodeAt(0) === 0x2f ? path.slice(1) : path;
    const q = p.endsWith('/') ? p.slice(0, -1) : p;
    return { segs: q === '' || q === '.' ? [] : q.split('/'), climbed };
  }
  const segs: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (segs.length === 0) climbed = true;
      else segs.pop();
    } else segs.push(seg);
  }
  return { segs, climbed };
}

/** The root node of an empty tree. */
export function newRoot(): TreeNode {
  const root = {
    name: '',
    path: '',
    kind: 'dir',
    layer: -1,
    meta: { uid: 0, gid: 0, mode: 0o755, mtime: 0 },
    children: new Map(),
    implicit: true,
  } as unknown as TreeNode;
  root.parent = root;
  return root;
}

/** Why a walk stopped short of a directory. */
export type WalkFailure = 'missing' | 'not a directory' | 'too many symlinks';

/** Hooks and flags of {@link walkDir}. */
export interface WalkOptions {
  /** Create missing directories through this callback (securejoin + MkdirAll). */
  create?: (parent: TreeNode, name: string) => TreeNode;
  /** Mark every directory passed through as written by this layer. */
  touch?: number;
  /** Told when a symlink target's `..` tried to climb above the root (and was confined). */
  onClimb?: (link: TreeNode) => void;
}

/**
 * Resolve `segs` (already cleaned) to a directory node, following symlinks confined to the
 * root. Returns the directory, or why there is none.
 */
export function walkDir(
  root: TreeNode,
  segs: readonly string[],
  options: WalkOptions = {},
): TreeNode | WalkFailure {
  // Components still to walk, the next one last.
  const todo = segs.length === 0 ? [] : segs.slice().reverse();
  let cur = root;
  let hops = 0;
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      // Only symlink targets still hold `..` here; cleaned entry paths never do.
      cur = cur.parent;
      continue;
    }
    let child = cur.children!.get(name);
    if (child === undefined) {
      if (!options.create) return 'missing';
      child = options.create(cur, name);
    }
    if (child.kind === 'symlink') {
      if (++hops > MAX_HOPS) return 'too many symlinks';
      const target = child.target ?? '';
      if (target.startsWith('/')) cur = root;
      const parts = target.split('/');
      if (options.onClimb && climbsAbove(cur, parts)) options.onClimb(child);
      for (let i = parts.length - 1; i >= 0; i--) todo.push(parts[i]!);
      continue;
    }
    if (child.kind !== 'dir') return 'not a directory';
    if (options.touch !== undefined && child.layer < options.touch) child.layer = options.touch;
    cur = child;
  }
  return cur;
}

/** Whether walking `parts` from `dir` lexically goes above the root. */
function climbsAbove(dir: TreeNode, parts: readonly string[]): boolean {
  let depth = dir.path === '' ? 0 : dir.path.split('/').length;
  for (const p of parts) {
    if (p === '..') {
      if (depth === 0) return true;
      depth--;
    } else if (p !== '' && p !== '.') depth++;
  }
  return false;
}

/** Make `child` a child of `parent` with its path filled in. */
export function attach(parent: TreeNode, child: Omit<TreeNode, 'parent' | 'path'>): TreeNode {
  const node = child as TreeNode;
  node.parent = parent;
  node.path = parent.path === '' ? child.name : `${parent.path}/${child.name}`;
  parent.children!.set(child.name, node);
  return node;
}

/** Whether `node` is `ancestor` or lies below it. */
export function isWithin(node: TreeNode, ancestor: TreeNode): boolean {
  for (let n = node; ; n = n.parent) {
    if (n === ancestor) return true;
    if (n.path === '') return false;
  }
}

/**
 * Call `visit` on `node` and everything below it; directories after their children when
 * `post`. A callback rather than a recursive generator: `yield*` passes every node up
 * through one generator per level, which cost more than the visits on deep trees.
 */
export function walkTree(node: TreeNode, visit: (node: TreeNode) => void, post = false): void {
  if (!post) visit(node);
  if (node.children) for (const child of node.children.values()) walkTree(child, visit, post);
  if (post) visit(node);
}
