import type { FsNode } from './fs-node.js';
import type { Knowledge } from './knowledge.js';

/** Symlinks followed before a resolution gives up, as Linux's MAXSYMLINKS. */
export const MAX_SYMLINK_HOPS = 40;

/**
 * Where a path leads inside the root: the names of each step from the root, and the node
 * at each step (`undefined` where nothing is, or below something that is not a directory).
 */
export interface Chain {
  names: string[];
  nodes: Array<FsNode | undefined>;
  /**
   * Over an unknown base: whether the way here met anything not certain (a name only the
   * base may hold, taken as a missing directory; a provisional directory; a tainted name;
   * see `Knowledge`).
   */
  uncertain: boolean;
  /** The step in {@link names} of a name only the base may hold, if one is left; else -1. */
  unknownAt: number;
}

/** Why {@link secureJoin} gave no chain. */
export type ChainFailure = 'too many symlinks';

/**
 * The target a resolution follows through `node`: a symlink's, or a hardlink's to a
 * symlink (on disk that name *is* a symlink); `undefined` for anything else.
 */
export function linkTargetOf(node: FsNode): string | undefined {
  if (node.type === 'symlink') return node.linkname ?? '';
  if (node.type === 'hardlink' && node.linkTarget?.type === 'symlink') {
    return node.linkTarget.linkname ?? '';
  }
  return undefined;
}

/**
 * Resolve cleaned segments inside the root with securejoin's semantics (what umoci and
 * containerd do before writing an entry): every symlink met is followed, absolute targets
 * start again at the root, `..` goes up the path resolved so far and stops at the root,
 * and a missing component, or one under a non-directory, is taken as a plain name (later
 * `..` can still climb back out of it). Nothing is created: the caller decides whether the
 * missing directories are made ({@link LayerRules}) or the path just does not exist.
 *
 * With `knowledge` (the tree lies over an unknown base), a name only the base may hold
 * is taken as missing and noted in {@link Chain.unknownAt}. `avoid` is taken as already removed (umoci removes a hardlink's path before
 * resolving its target). `onClimb` is told when a followed symlink's `..` climbs above
 * the root (and stays at the root).
 */
export function secureJoin(
  root: FsNode,
  segs: readonly string[],
  knowledge?: Knowledge,
  avoid?: FsNode,
  onClimb?: (linkPath: string) => void,
): Chain | ChainFailure {
  const names: string[] = [];
  const nodes: Array<FsNode | undefined> = [];
  let unknownAt = -1;
  let uncertain = false;
  // Components still to walk, the next one last.
  const todo = segs.length === 0 ? [] : segs.slice().reverse();
  let hops = 0;
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      names.pop();
      nodes.pop();
      if (unknownAt >= names.length) unknownAt = -1;
      continue;
    }
    const dir = nodes.length === 0 ? root : nodes[nodes.length - 1];
    let child: FsNode | undefined;
    if (dir?.children !== undefined) {
      child = dir.children.get(name);
      if (child === avoid && avoid !== undefined) child = undefined;
      else if (knowledge !== undefined) {
        const dirName = names.length === 0 ? '' : names[names.length - 1]!;
        if (child === undefined) {
          // A name only the base may hold (or an uncertain entry may have made on its
          // way): taken as a missing directory.
          if (knowledge.missingUncertain || knowledge.unknownSlot(dir, name)) {
            unknownAt = names.length;
            uncertain = true;
          }
        } else if (child.type === 'hardlink' && child.linkTarget === undefined) {
          // A hardlink to content only the base holds (it may be a symlink): likewise.
          unknownAt = names.length;
          uncertain = true;
          child = undefined;
        } else if (knowledge.isProvisional(child) || knowledge.isTainted(dirName, name, child)) {
          // Known, but what is really there may differ: kept, noted.
          uncertain = true;
        }
      }
    }
    const target = child === undefined ? undefined : linkTargetOf(child);
    if (target !== undefined) {
      if (++hops > MAX_SYMLINK_HOPS) return 'too many symlinks';
      const parts = target.split('/');
      const absolute = target.startsWith('/');
      if (onClimb && climbsAbove(absolute ? 0 : names.length, parts)) {
        onClimb([...names, name].join('/'));
      }
      if (absolute) {
        names.length = 0;
        nodes.length = 0;
        unknownAt = -1;
      }
      for (let i = parts.length - 1; i >= 0; i--) todo.push(parts[i]!);
      continue;
    }
    names.push(name);
    nodes.push(child);
  }
  return { names, nodes, uncertain, unknownAt };
}

/** Whether walking `parts` from `depth` steps below the root lexically goes above it. */
function climbsAbove(depth: number, parts: readonly string[]): boolean {
  let d = depth;
  for (const p of parts) {
    if (p === '..') {
      if (d === 0) return true;
      d--;
    } else if (p !== '' && p !== '.') d++;
  }
  return false;
}

/** The directory a chain ends at, if every step is an existing directory. */
export function existingDir(root: FsNode, chain: Chain): FsNode | undefined {
  if (chain.nodes.length === 0) return root;
  for (const node of chain.nodes) if (node?.children === undefined) return undefined;
  return chain.nodes[chain.nodes.length - 1];
}
