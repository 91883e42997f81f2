import { InvalidArgumentError, PathNotFoundError, SymlinkLoopError } from '../errors/index.js';
import { escapeName } from '../tar/name-codec.js';
import { cleanPath } from './clean-path.js';
import type { FsNode } from './fs-node.js';
import type { Knowledge } from './knowledge.js';
import { MAX_SYMLINK_HOPS } from './secure-join.js';

/** A node found by {@link lookup}, with its real absolute path. */
export interface Resolved {
  node: FsNode;
  /** Absolute path of the node after resolving every followed link. */
  path: string;
}

/** The content a hardlink node names (captured when its layer was applied). */
export function hardlinkContent(link: FsNode, input: string): Resolved {
  const content = link.linkTarget;
  if (content === undefined) {
    const reason = `hardlink target /${escapeName(link.linkname ?? '')} does not exist`;
    throw new PathNotFoundError(input, reason, escapeName(input));
  }
  return { node: content, path: `/${link.linkname ?? ''}` };
}

/**
 * Look `input` up below `root` the way the kernel would inside a chroot: `input` is first
 * cleaned lexically, then symlinks in the middle are always followed, the last one only
 * when `follow` is set; absolute targets start again from the root; `..` in a target goes
 * up from where the link sits and stays at the root; more than {@link MAX_SYMLINK_HOPS}
 * links fail with {@link SymlinkLoopError}. With `follow`, a hardlink resolves to its
 * content.
 *
 * With `knowledge` (a tree of the upper layers only), returns `undefined` when the answer
 * depends on the layers not read yet: a name the base may hold, a provisional directory,
 * a tainted name, a hardlink whose target lies in the base.
 */
export function lookup(
  root: FsNode,
  input: string,
  follow: boolean,
  knowledge?: Knowledge,
): Resolved | undefined {
  // Components still to walk, the next one last.
  const todo = cleanPath(input).segs.reverse();
  const names: string[] = [];
  const dirs: FsNode[] = [];
  let cur = root;
  let hops = 0;
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (name === '' || name === '.') continue;
    // As the kernel: even `..` needs a directory to step out of (`file/..` is ENOTDIR).
    if (cur.children === undefined) {
      throw new PathNotFoundError(input, 'not a directory', escapeName(input));
    }
    if (name === '..') {
      if (dirs.length > 0) {
        cur = dirs.pop()!;
        names.pop();
      }
      continue;
    }
    let child = cur.children.get(name);
    if (knowledge?.isTainted(names.length === 0 ? '' : names[names.length - 1]!, name, child)) {
      return undefined;
    }
    if (child === undefined) {
      if (knowledge && (knowledge.missingUncertain || knowledge.unknownSlot(cur, name))) {
        return undefined;
      }
      throw new PathNotFoundError(input, undefined, escapeName(input));
    }
    if (knowledge?.isProvisional(child)) return undefined;
    // A hardlink to content only the base holds: even whether it exists is not known
    // (a missing target refuses it).
    if (knowledge && child.type === 'hardlink' && child.linkTarget === undefined) return undefined;
    const last = todo.every((s) => s === '' || s === '.');
    if (child.type === 'hardlink' && (follow || !last)) {
      const content = hardlinkContent(child, input);
      if (last && content.node.type !== 'symlink') return content;
      child = content.node;
    }
    if (child.type === 'symlink' && (follow || !last)) {
      if (++hops > MAX_SYMLINK_HOPS) throw new SymlinkLoopError(input, MAX_SYMLINK_HOPS);
      const target = child.linkname ?? '';
      if (target.startsWith('/')) {
        cur = root;
        names.length = 0;
        dirs.length = 0;
      }
      const segs = target.split('/');
      for (let i = segs.length - 1; i >= 0; i--) todo.push(segs[i]!);
      continue;
    }
    dirs.push(cur);
    names.push(name);
    cur = child;
  }
  return { node: cur, path: `/${names.join('/')}` };
}

/** {@link lookup} in a tree whose every layer is known: always an answer or an error. */
export function resolvePath(root: FsNode, input: string, follow: boolean): Resolved {
  return lookup(root, input, follow)!;
}

/**
 * Check that what a lookup of `path` found (links followed) is a regular file, as reading
 * one needs: a directory or any other type is an {@link InvalidArgumentError} naming it.
 */
export function assertRegularFile(type: string, path: string): void {
  if (type === 'file') return;
  const shown = escapeName(path);
  if (type === 'dir') throw new InvalidArgumentError(`${shown}: is a directory`);
  throw new InvalidArgumentError(`${shown}: not a regular file (${type})`);
}
