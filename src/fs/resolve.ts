import { PathNotFoundError, SymlinkLoopError } from '../errors/index.js';
import type { FsNode } from './node.js';
import { joinPath, splitPath } from './paths.js';

/** Symlinks followed before a lookup fails, as Linux's MAXSYMLINKS. */
export const MAX_SYMLINK_HOPS = 40;

/** A node found by {@link resolvePath}, with its real absolute path. */
export interface Resolved {
  node: FsNode;
  /** Absolute path of the node after resolving every followed link. */
  path: string;
}

/**
 * Look `input` up below `root` the way the kernel would inside a chroot: symlinks in the
 * middle are always followed, the last one only when `follow` is set; absolute targets
 * start again from the image root; `..` at the root stays at the root; more than
 * {@link MAX_SYMLINK_HOPS} links fail with {@link SymlinkLoopError}. With `follow`, a
 * hardlink resolves to the content node it was linked to.
 */
export function resolvePath(root: FsNode, input: string, follow: boolean): Resolved {
  // Components still to walk, last element next.
  const todo = splitPath(input).reverse();
  const names: string[] = [];
  const dirs: FsNode[] = [];
  let cur = root;
  let hops = 0;
  const hop = () => {
    if (++hops > MAX_SYMLINK_HOPS) throw new SymlinkLoopError(input, MAX_SYMLINK_HOPS);
  };
  const pushTarget = (target: string) => {
    if (target.startsWith('/')) {
      cur = root;
      names.length = 0;
      dirs.length = 0;
    }
    const segs = target.split('/');
    for (let i = segs.length - 1; i >= 0; i--) todo.push(segs[i]!);
  };
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      if (dirs.length > 0) {
        cur = dirs.pop()!;
        names.pop();
      }
      continue;
    }
    if (cur.children === undefined) throw new PathNotFoundError(input, 'not a directory');
    let child = cur.children.get(name);
    if (child === undefined) throw new PathNotFoundError(input);
    const last = todo.every((s) => s === '' || s === '.');
    if (child.type === 'hardlink' && (follow || !last)) {
      const content = hardlinkContent(root, child, input);
      if (content.node.type !== 'symlink') {
        if (last) return content;
        child = content.node;
      } else {
        child = content.node;
      }
    }
    if (child.type === 'symlink' && (follow || !last)) {
      hop();
      pushTarget(child.linkname ?? '');
      continue;
    }
    dirs.push(cur);
    names.push(name);
    cur = child;
  }
  return { node: cur, path: joinPath(names) };
}

/**
 * The content node of a hardlink: the node captured when its layer was applied, or (if
 * the target did not exist then) whatever the target path holds now.
 */
export function hardlinkContent(root: FsNode, link: FsNode, input: string, depth = 0): Resolved {
  const target = link.linkname ?? '';
  if (link.linkTarget) return { node: link.linkTarget, path: `/${target}` };
  if (depth >= MAX_SYMLINK_HOPS) throw new SymlinkLoopError(input, MAX_SYMLINK_HOPS);
  try {
    const found = resolvePath(root, target, false);
    if (found.node === link) throw new PathNotFoundError(input, 'hardlink to itself');
    if (found.node.type === 'hardlink') return hardlinkContent(root, found.node, input, depth + 1);
    return found;
  } catch (err) {
    if (err instanceof PathNotFoundError && err.path !== input) {
      throw new PathNotFoundError(input, `hardlink target /${target} does not exist`);
    }
    throw err;
  }
}
