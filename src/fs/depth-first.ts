import type { FsNode } from '../layer-rules/fs-node.js';
import { childPath } from './paths.js';

/**
 * Depth-first traversal of a subtree, siblings sorted by name, one node per `next()`.
 * Pending nodes live in parallel arrays rather than one object each, so walking the tens
 * of thousands of paths of an application image allocates little beyond the paths.
 */
export class DepthFirst {
  /** The current node and its absolute path, after `next()` returned true. */
  node!: FsNode;
  path = '';
  private readonly nodes: FsNode[] = [];
  private readonly paths: string[] = [];
  private readonly depths: number[] = [];

  /**
   * Start below `start` (at `startPath`); `maxDepth` stops descending (1 = direct
   * children only). The start node itself is not visited.
   */
  constructor(
    start: FsNode,
    startPath: string,
    private readonly maxDepth = Number.POSITIVE_INFINITY,
  ) {
    this.pushChildren(start, startPath, 0);
  }

  /** Move to the next node; false when the subtree is done. */
  next(): boolean {
    const node = this.nodes.pop();
    if (node === undefined) return false;
    const path = this.paths.pop()!;
    const depth = this.depths.pop()!;
    this.node = node;
    this.path = path;
    this.pushChildren(node, path, depth);
    return true;
  }

  private pushChildren(node: FsNode, path: string, depth: number): void {
    const children = node.children;
    if (children === undefined || children.size === 0 || depth >= this.maxDepth) return;
    const names = [...children.keys()].sort();
    for (let i = names.length - 1; i >= 0; i--) {
      const name = names[i]!;
      this.nodes.push(children.get(name)!);
      this.paths.push(childPath(path, name));
      this.depths.push(depth + 1);
    }
  }
}
