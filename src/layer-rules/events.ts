import { escapeName, type TarEntry, type TarRecord } from '../tar/index.js';
import type { FsNode } from './fs-node.js';

/**
 * What {@link LayerRules} decided, told as it happens. A place is given as the path of
 * its directory, relative to the root without a leading slash (`''` is the root), and a
 * name (`joinRelative(dir, name)` is its path; the root itself is `('', '')`). Paths are
 * resolved: they name where things are, not how the entry spelled them. The view counts
 * these (layer statistics); unpack carries each out on disk, in order, so that the disk
 * always matches the tree.
 */
export interface RuleEvents {
  /** A directory made because an entry below it needs one (mode 0755, no entry of its own). */
  impliedDir?(dir: FsNode, parent: string, name: string): void;
  /**
   * `node` and everything below it left the tree: replaced by the entry `by`, or removed by
   * a whiteout or an opaque directory (`by` undefined).
   */
  removed?(node: FsNode, parent: string, name: string, by: TarEntry | undefined): void;
  /**
   * `node` was made for the entry in `item` (after `previous`, if any, was removed). For a
   * hardlink, `targetPath` is where its target is. May return a promise to be awaited
   * before the next entry (unpack writing a file's content).
   */
  placed?(
    node: FsNode,
    parent: string,
    name: string,
    item: TarEntry | TarRecord,
    previous: FsNode | undefined,
    targetPath?: string,
  ): Promise<void> | undefined;
  /** A directory entry was applied to the directory already there: metadata replaced. */
  dirUpdated?(dir: FsNode, parent: string, name: string, entry: TarEntry): void;
  /** A `.wh.NAME` entry, before it removes `victim` (if anything is there). */
  whiteout?(entry: TarEntry, victim: FsNode | undefined, path: string): void;
  /** A `.wh..wh..opq` entry, before it empties `dir` of what lower layers left. */
  opaque?(entry: TarEntry, dir: FsNode, path: string): void;
  /** The entry was refused and changed nothing (see {@link LayerRules} for when). */
  refused(entry: TarEntry, reason: string): void;
  /** The entry was applied, confined inside the root (`..` or a symlink pointing out). */
  confined?(entry: TarEntry, message: string): void;
}

/**
 * How a refusal is told to people: `layer N: PATH: REASON`, names escaped (`caf\xe9`, a
 * control character as `\x0a`: names are bytes, see `tar/name-codec.ts`), on one line.
 */
export function refusalText(layer: number, entry: TarEntry, reason: string): string {
  return `layer ${layer}: ${escapeName(entry.path)}: ${escapeName(reason)}`;
}
