import type { BrowseNode } from './browse-tree.js';

/** One line of the tree pane. */
export interface TreeRow {
  node: BrowseNode;
  /** 0 for the children of `/`. */
  depth: number;
  /** A directory whose children are shown below it. */
  expanded: boolean;
  /** The tree lines drawn before the name (`│   ├── `). */
  prefix: string;
}

/** What a filter keeps of a tree. */
export interface FilterResult {
  /** Nodes to show: matches, the directories above them, everything below a matched one. */
  shown: Set<BrowseNode>;
  /** Directories above a match: open whatever the user left them as. */
  open: Set<BrowseNode>;
  /** Nodes whose path contains the text. */
  matches: number;
}

/** The nodes a filter keeps: those whose path contains `text` (any case), and around them. */
export function filterTree(root: BrowseNode, text: string): FilterResult {
  const needle = text.toLowerCase();
  const result: FilterResult = { shown: new Set(), open: new Set(), matches: 0 };
  const addAll = (n: BrowseNode) => {
    result.shown.add(n);
    for (const c of n.children ?? []) addAll(c);
  };
  const visit = (n: BrowseNode): boolean => {
    if (n !== root && n.path.toLowerCase().includes(needle)) {
      result.matches++;
      addAll(n);
      // Matches further down still count, and open the way to them.
      for (const c of n.children ?? []) if (visit(c)) result.open.add(n);
      return true;
    }
    let any = false;
    for (const c of n.children ?? []) if (visit(c)) any = true;
    if (any) {
      result.shown.add(n);
      result.open.add(n);
    }
    return any;
  };
  visit(root);
  return result;
}

/**
 * The rows of `root`'s tree: each directory in `expanded` shows its children. With a
 * filter, only the nodes it keeps appear, and a directory above a match is open (else the
 * match could not be seen).
 */
export function flattenTree(
  root: BrowseNode,
  expanded: ReadonlySet<string>,
  filter?: FilterResult,
): TreeRow[] {
  const rows: TreeRow[] = [];
  const visit = (dir: BrowseNode, depth: number, guide: string) => {
    const children = filter ? dir.children!.filter((c) => filter.shown.has(c)) : dir.children!;
    children.forEach((node, i) => {
      const last = i === children.length - 1;
      const open =
        node.children !== undefined && (expanded.has(node.path) || filter?.open.has(node) === true);
      rows.push({ node, depth, expanded: open, prefix: `${guide}${last ? '└── ' : '├── '}` });
      if (open) visit(node, depth + 1, `${guide}${last ? '    ' : '│   '}`);
    });
  };
  if (root.children) visit(root, 0, '');
  return rows;
}
