import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openOutputFile } from '../node/output-file.js';
import { decodeName, encodeName, packTar, type TarWriteEntry } from '../tar/index.js';

/** Options of {@link packDirectory}. */
export interface PackDirectoryOptions {
  /** Top-level names left out (a store's `.ocipeek` bookkeeping). */
  exclude?: string[];
  signal?: AbortSignal;
}

/**
 * Blobs are read in 1 MiB pieces: a layer of hundreds of MiB in the default 64 KiB reads
 * is thousands of extra round trips through the thread pool and the archive's generator.
 */
const READ_CHUNK = 1024 * 1024;

/** A file or folder to archive: its archive path and, for a file, where to read it. */
interface Item {
  path: string;
  file?: Buffer;
}

/**
 * Every file and folder under `dir` (`rel` inside it), sorted by name bytes, folders
 * before their contents. Names are read as bytes: whatever the folder holds is archived
 * under its exact name.
 */
async function walk(dir: Buffer, rel: string, exclude: Set<string>): Promise<Item[]> {
  const out: Item[] = [];
  const entries = (await readdir(dir, { withFileTypes: true, encoding: 'buffer' })).sort((a, b) =>
    Buffer.compare(a.name, b.name),
  );
  for (const e of entries) {
    const name = decodeName(e.name);
    if (!rel && exclude.has(name)) continue;
    const path = rel ? `${rel}/${name}` : name;
    const full = Buffer.concat([dir, Buffer.from('/'), e.name]);
    if (e.isDirectory()) {
      out.push({ path });
      out.push(...(await walk(full, path, exclude)));
    } else if (e.isFile()) out.push({ path, file: full });
  }
  return out;
}

/** The archive members of `items`: a fixed mtime keeps archives of the same content equal. */
async function* members(items: Item[]): AsyncGenerator<TarWriteEntry> {
  for (const item of items) {
    const base = { path: item.path, uid: 0, gid: 0, mtime: 0 };
    if (!item.file) {
      yield { header: { ...base, type: 'dir', size: 0, mode: 0o755 } };
      continue;
    }
    const { size } = await lstat(item.file);
    const header = { ...base, type: 'file' as const, size, mode: 0o644 };
    yield { header, body: fileChunks(item.file) };
  }
}

/** A file's bytes, opened only once the archive asks for them (and closed if it stops). */
async function* fileChunks(file: Buffer): AsyncGenerator<Buffer> {
  yield* createReadStream(file, { highWaterMark: READ_CHUNK });
}

/**
 * Write the folder `dir` as an uncompressed tar to `output`: a path (opened with
 * {@link openOutputFile}: a regular file is replaced only once the archive is complete,
 * a FIFO or device is written through) or a stream such as stdout (not ended).
 */
export async function packDirectory(
  dir: string,
  output: string | Writable,
  options: PackDirectoryOptions = {},
): Promise<void> {
  const out = await openOutputFile(output);
  try {
    const items = await walk(encodeName(dir), '', new Set(options.exclude ?? []));
    await pipeline(packTar(members(items), { signal: options.signal }), out.stream, {
      signal: options.signal,
      end: false,
    });
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
}
