import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { recompressBlob } from '../convert/recompress-blob.js';
import { InvalidArgumentError } from '../errors/index.js';
import { MediaType } from '../media/index.js';
import { decodeName, packTar, type TarWriteEntry } from '../tar/index.js';
import type { LayerToWrite } from './write-image.js';

/** Options of the layer makers. */
export interface NewLayerOptions {
  /** Docker or OCI layer media type (default OCI). */
  format?: 'oci' | 'docker';
  signal?: AbortSignal;
}

/**
 * A gzip layer from a tar stream (plain, gzip or zstd: detected from its bytes), written
 * to `file` (the caller removes it once the image is written); its diff_id is the digest
 * of the tar as given.
 */
export async function layerFromTar(
  tar: Readable | AsyncIterable<Buffer>,
  file: string,
  options: NewLayerOptions = {},
): Promise<LayerToWrite> {
  const written = await recompressBlob(tar, MediaType.ociLayer, 'gzip', file, {
    signal: options.signal,
  });
  return {
    descriptor: {
      mediaType: options.format === 'docker' ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip,
      digest: written.digest,
      size: written.size,
    },
    diffId: written.diffId,
    open: async (signal) => createReadStream(file, { highWaterMark: 1 << 20, signal }),
  };
}

/**
 * A layer from `path`: a tar file (plain or compressed) as it is, or a folder whose
 * contents become the layer's root (see {@link directoryTar}).
 */
export async function layerFromPath(
  path: string,
  file: string,
  options: NewLayerOptions = {},
): Promise<LayerToWrite> {
  const info = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    throw new InvalidArgumentError(`cannot read ${path}: ${err.code ?? err.message}`);
  });
  if (info.isDirectory()) return layerFromTar(directoryTar(path, options.signal), file, options);
  if (!info.isFile()) throw new InvalidArgumentError(`${path} is neither a tar file nor a folder`);
  return layerFromTar(createReadStream(path, { highWaterMark: 1 << 20 }), file, options);
}

/**
 * The folder `dir` as a tar stream: files, folders and symbolic links with their
 * permission bits and mtimes, hard links kept as links, owned by root (as a build's
 * `COPY` without `--chown`); names sorted by their bytes, so the same folder gives the
 * same tar. Other kinds (devices, fifos, sockets) are refused. With `prefix`, the folder
 * itself is the tar's one top entry, named `prefix` (as oras packs a folder).
 */
export function directoryTar(
  dir: string,
  signal?: AbortSignal,
  prefix?: string,
): AsyncGenerator<Buffer> {
  return packTar(prefixed(dir, prefix), { signal });
}

async function* prefixed(dir: string, prefix: string | undefined): AsyncGenerator<TarWriteEntry> {
  if (prefix === undefined) return yield* directoryEntries(Buffer.from(dir), '');
  const st = await lstat(dir);
  const mtime = Math.floor(st.mtimeMs / 1000);
  const header = { path: prefix, uid: 0, gid: 0, mode: st.mode & 0o7777, mtime };
  yield { header: { ...header, type: 'dir', size: 0 } };
  yield* directoryEntries(Buffer.from(dir), prefix);
}

async function* directoryEntries(
  dir: Buffer,
  rel: string,
  seen = new Map<string, string>(),
): AsyncGenerator<TarWriteEntry> {
  const names = (await readdir(dir, { encoding: 'buffer' })).sort(Buffer.compare);
  for (const raw of names) {
    const full = Buffer.concat([dir, Buffer.from('/'), raw]);
    const path = rel ? `${rel}/${decodeName(raw)}` : decodeName(raw);
    const st = await lstat(full);
    const base = {
      path,
      uid: 0,
      gid: 0,
      mode: st.mode & 0o7777,
      mtime: Math.floor(st.mtimeMs / 1000),
    };
    if (st.isDirectory()) {
      yield { header: { ...base, type: 'dir', size: 0 } };
      yield* directoryEntries(full, path, seen);
    } else if (st.isSymbolicLink()) {
      const target = decodeName(await readlink(full, { encoding: 'buffer' }));
      yield { header: { ...base, type: 'symlink', size: 0, linkname: target } };
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? seen.get(key) : undefined;
      if (first !== undefined) {
        yield { header: { ...base, type: 'hardlink', size: 0, linkname: first } };
        continue;
      }
      if (st.nlink > 1) seen.set(key, path);
      yield {
        header: { ...base, type: 'file', size: st.size },
        body: createReadStream(full, { highWaterMark: 1 << 20 }),
      };
    } else {
      throw new InvalidArgumentError(
        `${join(dir.toString(), decodeName(raw))}: not a file, folder or link`,
      );
    }
  }
}
