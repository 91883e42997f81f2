import { execFile } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { type DigestAlgorithm, digestOf } from './oci-layout-writer.js';

/** One entry of a test layer's tar stream. */
export interface LayerEntry {
  /** Path inside the layer, without a leading slash (e.g. `etc/hosts`, `.wh.gone`). */
  path: string;
  /** Default `'file'` (or `'dir'` when the path ends in `/`). */
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  /** File content (files only). */
  content?: string | Uint8Array;
  /** Permission bits; default 0o644 for files, 0o755 for directories, 0o777 for symlinks. */
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Target of a symlink, or the path a hard link points to. */
  linkname?: string;
  /** Modification time; default 2024-01-01T00:00:00Z so layers are reproducible. */
  mtime?: Date;
  /** Device numbers for `char` and `block`. */
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records (e.g. `SCHILY.xattr.user.x`). */
  pax?: Record<string, string>;
}

/** How a layer blob is compressed. */
export type LayerCompressionKind = 'gzip' | 'none' | 'zstd';

/** Options for {@link makeLayer}. */
export interface MakeLayerOptions {
  /** Default `'gzip'`. */
  compression?: LayerCompressionKind;
  /** Media type family; Docker has no zstd or uncompressed variant in use. Default `'oci'`. */
  mediaTypes?: 'oci' | 'docker';
  /** Digest algorithm of `digest` (the blob); `diffId` is always sha256. Default sha256. */
  algorithm?: DigestAlgorithm;
}

/** A built layer: its blob and what a manifest and config need to reference it. */
export interface BuiltLayer {
  /** The (possibly compressed) blob bytes. */
  blob: Buffer;
  /** The uncompressed tar bytes. */
  tar: Buffer;
  /** Digest of `blob`. */
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar (the config's `rootfs.diff_ids` entry). */
  diffId: string;
  mediaType: string;
  /** The entries the tar holds, in order. */
  entries: LayerEntry[];
}

const DEFAULT_MTIME = new Date('2024-01-01T00:00:00Z');

/** tar-stream's name for each entry type. */
export const TAR_STREAM_TYPES = {
  file: 'file',
  dir: 'directory',
  symlink: 'symlink',
  hardlink: 'link',
  char: 'character-device',
  block: 'block-device',
  fifo: 'fifo',
} as const;

/** The layer media type for a compression and media-type family. */
export function layerMediaType(
  compression: LayerCompressionKind,
  family: 'oci' | 'docker',
): string {
  if (family === 'docker') {
    if (compression !== 'gzip') {
      throw new Error(`Docker media types have no ${compression} layer type`);
    }
    return 'application/vnd.docker.image.rootfs.diff.tar.gzip';
  }
  const base = 'application/vnd.oci.image.layer.v1.tar';
  return compression === 'none' ? base : `${base}+${compression}`;
}

/** Build an uncompressed tar stream from `entries` with tar-stream. */
export async function makeTar(entries: LayerEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? (e.path.endsWith('/') ? 'dir' : 'file');
    const content =
      type === 'file' && e.content !== undefined ? Buffer.from(e.content) : Buffer.alloc(0);
    const defaultMode = type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644;
    const header: Partial<tar.Header> & { name: string } = {
      name: e.path,
      type: TAR_STREAM_TYPES[type],
      mode: e.mode ?? defaultMode,
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      uname: e.uname ?? '',
      gname: e.gname ?? '',
      mtime: e.mtime ?? DEFAULT_MTIME,
      size: content.length,
    };
    if (e.linkname !== undefined) header.linkname = e.linkname;
    if (e.devmajor !== undefined) header.devmajor = e.devmajor;
    if (e.devminor !== undefined) header.devminor = e.devminor;
    if (e.pax !== undefined) header.pax = e.pax;
    await new Promise<void>((resolve, reject) =>
      pack.entry(header, content, (err) => (err ? reject(err) : resolve())),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Compress `data` with the `zstd` CLI (Node 20 has no zstd in zlib). */
export function zstdCompress(data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'zstd',
      ['-q', '-c', '-3'],
      { encoding: 'buffer', maxBuffer: 1 << 30 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
    child.stdin?.end(data);
  });
}

/** Compress a tar stream the way a layer of `compression` stores it. */
export async function compress(
  tarBytes: Buffer,
  compression: LayerCompressionKind,
): Promise<Buffer> {
  if (compression === 'gzip') return gzipSync(tarBytes);
  if (compression === 'zstd') return zstdCompress(tarBytes);
  return tarBytes;
}

/**
 * Build a layer blob from entries.
 *
 * @example
 * const layer = await makeLayer([
 *   { path: 'etc/', type: 'dir' },
 *   { path: 'etc/motd', content: 'hi\n' },
 *   { path: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
 * ], { compression: 'zstd' });
 */
export async function makeLayer(
  entries: LayerEntry[],
  options: MakeLayerOptions = {},
): Promise<BuiltLayer> {
  return layerOfTar(await makeTar(entries), options, entries);
}

/**
 * A layer blob from a tar made elsewhere (GNU tar, for names no string can spell).
 * `entries` is what the built layer reports holding (none by default).
 */
export async function layerOfTar(
  tarBytes: Buffer,
  options: MakeLayerOptions = {},
  entries: LayerEntry[] = [],
): Promise<BuiltLayer> {
  const compression = options.compression ?? 'gzip';
  const blob = await compress(tarBytes, compression);
  return {
    blob,
    tar: tarBytes,
    digest: digestOf(blob, options.algorithm ?? 'sha256'),
    size: blob.length,
    diffId: digestOf(tarBytes, 'sha256'),
    mediaType: layerMediaType(compression, options.mediaTypes ?? 'oci'),
    entries,
  };
}
