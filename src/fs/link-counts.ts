import type { FsNode } from '../layer-rules/fs-node.js';

/**
 * Link counts as `stat` reports them on the unpacked tree (`ls -l`'s second column): a
 * directory has 2 plus one per subdirectory (its `.`, its name, each child's `..`); any
 * other node has one per name of its content: the content's own path while it is still
 * in the tree, plus every hardlink to it (unpack makes those with `link()`, so they share
 * the inode). A hardlink is counted with the content it named when its layer was applied,
 * which later layers replacing or whiting out the target's path do not change.
 */
export class LinkCounts {
  /** Names of each content node some hardlink names; other nodes have one. */
  private readonly names = new Map<FsNode, number>();

  /** Count the names below `root`; `hasHardlinks` false skips the walk (nothing to count). */
  constructor(root: FsNode, hasHardlinks: boolean) {
    if (!hasHardlinks) return;
    const names = this.names;
    forEachNode(root, (n) => {
      const content = n.type === 'hardlink' ? n.linkTarget : undefined;
      if (content !== undefined) names.set(content, (names.get(content) ?? 0) + 1);
    });
    if (names.size === 0) return;
    forEachNode(root, (n) => {
      const links = n.type === 'hardlink' ? undefined : names.get(n);
      if (links !== undefined) names.set(n, links + 1);
    });
  }

  /** The link count of `node` (a hardlink's is its content's). */
  of(node: FsNode): number {
    if (node.children !== undefined) {
      let n = 2;
      for (const child of node.children.values()) if (child.children !== undefined) n++;
      return n;
    }
    const content = node.type === 'hardlink' ? (node.linkTarget ?? node) : node;
    return this.names.get(content) ?? 1;
  }
}

/** Call `visit` on every node below `root` (and `root`), in no particular order. */
function forEachNode(root: FsNode, visit: (node: FsNode) => void): void {
  const stack = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    visit(node);
    if (node.children !== undefined) for (const child of node.children.values()) stack.push(child);
  }
}
