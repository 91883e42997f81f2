import type { FsEntry } from '../../fs/index.js';

/** What the selected layer did to a path. */
export type Change = 'added' | 'modified' | 'deleted';

/**
 * One path of the tree the browser shows: the entry's path, type, mode, owner, link
 * target and the layer that last wrote it (as {@link FsEntry} has them), and more. Nodes
 * are views of a compact tree (`compact-tree.ts`): read them, do not change them.
 */
export interface BrowseNode
  extends Readonly<Pick<FsEntry, 'path' | 'type' | 'mode' | 'uid' | 'gid' | 'linkname' | 'layer'>> {
  /** Last path segment (`''` for the root); raw, escape before printing. */
  readonly name: string;
  /** A file's size; a directory's is the sum of the non-directories below it. */
  readonly size: number;
  /** What the selected layer did here, if anything. */
  readonly change?: Change;
  /** A directory's children, sorted by name. */
  readonly children?: BrowseNode[];
}
