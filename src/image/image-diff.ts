import {
  type ChangedPath,
  diffTrees,
  type FilePair,
  type FsEntry,
  type TreeDiff,
  type Walkable,
} from '../fs/index.js';

/** One image's side of {@link diffImages}: its tree, and what can be known of its files. */
export interface DiffSide {
  fs: Walkable;
  /**
   * A regular file's content digest when known without reading it: from a layer listing
   * made with hashing (`buildFilesystem({ contentDigests })`), or a TOC that records it.
   */
  knownDigest?(entry: FsEntry): string | undefined;
  /**
   * Read and hash regular files of this side, as far as the side allows (it may refuse
   * what would cost too much): their digests, by entry. A file left out stays uncompared.
   * Called at most once a diff, with every file still in question.
   */
  hashFiles?(entries: FsEntry[], signal?: AbortSignal): Promise<Map<FsEntry, string>>;
}

/**
 * Whether two regular files hold the same bytes, decided without reading them; undefined
 * when that needs their contents. Different sizes differ; empty files are equal; the same
 * entry of the same layer blob (its digest, and the entry's place in the blob's tar or
 * TOC) is the same bytes; else two known digests decide.
 */
export function sameContentKnown(
  before: FsEntry,
  after: FsEntry,
  a: DiffSide,
  b: DiffSide,
): boolean | undefined {
  if (before.size !== after.size) return false;
  if (before.size === 0) return true;
  if (sameEntryOfSameBlob(before, after)) return true;
  const da = a.knownDigest?.(before);
  const db = b.knownDigest?.(after);
  return da !== undefined && db !== undefined ? da === db : undefined;
}

/**
 * The same entry of one layer blob. Tar offsets (`dataOffset` ≥ 0) and TOC positions
 * (`dataOffset` -1, `headerOffset` the position) are told apart, so a blob read through
 * its listing on one side and through a TOC or seek index on the other is not mistaken.
 */
function sameEntryOfSameBlob(x: FsEntry, y: FsEntry): boolean {
  return (
    x.layerDigest !== '' &&
    x.layerDigest === y.layerDigest &&
    x.headerOffset === y.headerOffset &&
    x.dataOffset === y.dataOffset
  );
}

/**
 * What changed from image `a` to image `b` ({@link diffTrees}), contents compared by one
 * rule: {@link sameContentKnown} first (no reading), then, for same-size files it cannot
 * decide, the digests each side's `hashFiles` gives. Pairs neither can decide are left in
 * `unknownContent`. `ocipeek diff` and the web explorer's diff both go through here.
 */
export async function diffImages(
  a: DiffSide,
  b: DiffSide,
  options: { signal?: AbortSignal } = {},
): Promise<TreeDiff> {
  const diff = diffTrees(a.fs, b.fs, { sameContent: (x, y) => sameContentKnown(x, y, a, b) });
  const open = diff.unknownContent;
  if (open.length === 0) return diff;
  const [before, after] = await Promise.all([
    digestsOf(
      a,
      open.map((p) => p.before),
      options.signal,
    ),
    digestsOf(
      b,
      open.map((p) => p.after),
      options.signal,
    ),
  ]);
  const changed = new Map(diff.changed.map((c) => [c.path, c]));
  const unknown: FilePair[] = [];
  for (const pair of open) {
    const da = before.get(pair.before);
    const db = after.get(pair.after);
    if (da === undefined || db === undefined) unknown.push(pair);
    else if (da !== db) contentChanged(changed, pair);
  }
  const byPath = (x: ChangedPath, y: ChangedPath) =>
    x.path < y.path ? -1 : x.path > y.path ? 1 : 0;
  return { ...diff, changed: [...changed.values()].sort(byPath), unknownContent: unknown };
}

/** The digests of `entries` on `side`: those it knows, and those its `hashFiles` reads. */
async function digestsOf(
  side: DiffSide,
  entries: FsEntry[],
  signal: AbortSignal | undefined,
): Promise<Map<FsEntry, string>> {
  const out = new Map<FsEntry, string>();
  const unread: FsEntry[] = [];
  for (const e of entries) {
    const known = side.knownDigest?.(e);
    if (known !== undefined) out.set(e, known);
    else unread.push(e);
  }
  if (unread.length > 0 && side.hashFiles) {
    for (const [e, d] of await side.hashFiles(unread, signal)) out.set(e, d);
  }
  return out;
}

function contentChanged(changed: Map<string, ChangedPath>, pair: FilePair): void {
  const known = changed.get(pair.path);
  if (known) known.fields.push('content');
  else changed.set(pair.path, { ...pair, fields: ['content'] });
}
