import { type FsEntry, ImageFilesystem, toEntryJson } from '../fs/index.js';
import type { TarEntry } from '../tar/index.js';
import type { PeekEntry } from './peek-layer.js';

/**
 * The entries a peek read from one layer, laid out as a filesystem by the same rules as
 * `ls` and `stat` (fs/node.ts, fs/link-counts.ts), so that a hardlink shows as the file it
 * is another name of: that file's size, type and owner, and the link count both names
 * share. Only the entries read are known: a hardlink whose target lies in a lower layer or
 * past the bytes read keeps what its tar header says, and counts are among the entries read.
 */
export class PeekedLayer {
  private readonly fs = new ImageFilesystem({ efficiency: false });

  private constructor() {}

  /** Lay out `entries` (one layer's, in tar order). */
  static async of(entries: readonly PeekEntry[]): Promise<PeekedLayer> {
    const layer = new PeekedLayer();
    await layer.fs.applyLayer(entries.map(tarEntryOf), 0, '');
    return layer;
  }

  /** What `ls -l` shows for `entry`, or undefined for a whiteout and what it removed. */
  fsEntry(entry: PeekEntry): FsEntry | undefined {
    try {
      const found = this.fs.lstat(entry.path);
      return found.path === entry.path ? { ...found, layer: entry.layer } : undefined;
    } catch {
      return undefined;
    }
  }

  /** `entry` in the JSON shape of `ls --json`, its hardlink resolved (see the class). */
  resolve(entry: PeekEntry): PeekEntry {
    const found = this.fsEntry(entry);
    if (!found) return entry;
    const out: PeekEntry = toEntryJson(found);
    if (entry.partial) out.partial = true;
    return out;
  }
}

/** Back from the peek JSON shape to the tar entry it was made from. */
function tarEntryOf(e: PeekEntry): TarEntry {
  const out: TarEntry = {
    path: e.path.replace(/^\//, ''),
    type: e.type,
    size: e.type === 'hardlink' ? 0 : e.size,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtime: e.mtime,
    headerOffset: -1,
    dataOffset: -1,
  };
  if (e.linkname !== undefined) {
    out.linkname = e.type === 'hardlink' ? e.linkname.replace(/^\//, '') : e.linkname;
  }
  if (e.devMajor !== undefined) out.devmajor = e.devMajor;
  if (e.devMinor !== undefined) out.devminor = e.devMinor;
  return out;
}
