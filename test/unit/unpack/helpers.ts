import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ImageLayer } from '../../../src/source/index.js';
import type { UnpackOptions, UnpackResult } from '../../../src/unpack/index.js';
import { unpackLayers } from '../../../src/unpack/index.js';
import { type LayerCompressionKind, type LayerEntry, makeLayer } from '../../harness/layers.js';
import { fileTypeOf } from '../../harness/rootfs-snapshot.js';
import { type TempDir, tempDir } from '../../harness/temp-dir.js';

/** A test sandbox: `dir` (the unpack target) next to `outside`, which must stay untouched. */
export interface Sandbox {
  base: TempDir;
  /** The unpack target, `BASE/rootfs` (not created yet). */
  dir: string;
  /** `BASE/outside`, holding `canary` and `secret/`. */
  outside: string;
  /** `outside`'s state now; compare with an earlier call. */
  outsideState(): Record<string, unknown>;
  remove(): Promise<void>;
}

/** Make a sandbox with an `outside` folder of canary content. */
export async function sandbox(): Promise<Sandbox> {
  const base = await tempDir('unpack');
  const outside = path.join(base.path, 'outside');
  mkdirSync(path.join(outside, 'secret'), { recursive: true });
  writeFileSync(path.join(outside, 'canary'), 'keep me\n');
  writeFileSync(path.join(outside, 'secret', 'shadow'), 'root:x:0\n');
  return {
    base,
    dir: path.join(base.path, 'rootfs'),
    outside,
    outsideState: () => snapshot(outside, true),
    remove: () => base.remove(),
  };
}

/** Layers built from entry lists, in the shape {@link unpackLayers} takes. */
export async function buildLayers(
  lists: LayerEntry[][],
  compression: LayerCompressionKind | LayerCompressionKind[] = 'gzip',
): Promise<ImageLayer[]> {
  const out: ImageLayer[] = [];
  for (const [index, entries] of lists.entries()) {
    const c = Array.isArray(compression) ? compression[index]! : compression;
    const built = await makeLayer(entries, { compression: c });
    out.push(layerFromBlob(index, built.blob, built.mediaType, built.diffId, built.digest));
  }
  return out;
}

/** An {@link ImageLayer} over bytes in memory. */
export function layerFromBlob(
  index: number,
  blob: Buffer,
  mediaType: string,
  diffId?: string,
  digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`,
): ImageLayer {
  return {
    index,
    descriptor: { mediaType, digest, size: blob.length },
    ...(diffId === undefined ? {} : { diffId }),
    open: async () => Readable.from([blob]),
  };
}

/** Build layers and unpack them into `dir`. */
export async function unpackEntries(
  lists: LayerEntry[][],
  dir: string,
  options: UnpackOptions = {},
  compression: LayerCompressionKind | LayerCompressionKind[] = 'gzip',
): Promise<UnpackResult> {
  return unpackLayers(await buildLayers(lists, compression), dir, options);
}

/** One path as {@link snapshot} describes it. */
export interface Snap {
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block' | 'other';
  mode: number;
  size?: number;
  sha256?: string;
  target?: string;
  ino: number;
  nlink: number;
  uid: number;
  gid: number;
  mtime: number;
  content?: string;
}

/** Every path below `root` (relative, `/`-joined), with type, mode, content hash, link target. */
export function snapshot(root: string, withTimes = false): Record<string, Snap> {
  const out: Record<string, Snap> = {};
  const visit = (rel: string) => {
    const abs = rel === '' ? root : path.join(root, rel);
    const st = lstatSync(abs);
    const type = fileTypeOf(st);
    const snap: Snap = {
      type,
      mode: st.mode & 0o7777,
      ino: st.ino,
      nlink: st.nlink,
      uid: st.uid,
      gid: st.gid,
      mtime: withTimes || type !== 'dir' ? Math.floor(st.mtimeMs / 1000) : 0,
    };
    if (type === 'file') {
      const data = readFileSync(abs);
      snap.size = data.length;
      snap.sha256 = createHash('sha256').update(data).digest('hex');
      if (data.length < 256) snap.content = data.toString('utf8');
    }
    if (type === 'symlink') snap.target = readlinkSync(abs);
    if (rel !== '') out[rel] = snap;
    if (type === 'dir')
      for (const name of readdirSync(abs).sort()) visit(rel === '' ? name : `${rel}/${name}`);
  };
  visit('');
  return out;
}

/** Sorted relative paths below `root`. */
export function listPaths(root: string): string[] {
  return Object.keys(snapshot(root)).sort();
}
