import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Pack, pack } from 'tar-stream';

/** Options of {@link packDirectory}. */
export interface PackDirectoryOptions {
  /** Top-level names left out (a store's `.ocipeek` bookkeeping). */
  exclude?: string[];
  signal?: AbortSignal;
}

/** Every file and folder under `dir`, sorted, as archive-relative POSIX paths. */
async function walk(dir: string, rel: string, exclude: Set<string>): Promise<string[]> {
  const out: string[] = [];
  const entries = (await readdir(join(dir, rel), { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const e of entries) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (!rel && exclude.has(e.name)) continue;
    if (e.isDirectory()) {
      out.push(`${path}/`);
      out.push(...(await walk(dir, path, exclude)));
    } else if (e.isFile()) out.push(path);
  }
  return out;
}

function addEntry(tar: Pack, name: string, size: number, file?: string): Promise<void> {
  // A fixed mtime keeps archives of the same content byte-identical.
  const header = {
    name,
    size,
    mode: file ? 0o644 : 0o755,
    mtime: new Date(0),
    type: file ? ('file' as const) : ('directory' as const),
  };
  if (!file) {
    return new Promise((res, rej) => {
      tar.entry(header, Buffer.alloc(0), (err) => (err ? rej(err) : res()));
    });
  }
  return new Promise((res, rej) => {
    const sink = tar.entry(header, (err) => (err ? rej(err) : res()));
    pipeline(createReadStream(file), sink).catch(rej);
  });
}

/**
 * Write the folder `dir` as an uncompressed tar to `file`, atomically: the archive is
 * written next to `file` under a temp name and renamed over it only when complete, so a
 * failure leaves whatever was at `file` before.
 */
export async function packDirectory(
  dir: string,
  file: string,
  options: PackDirectoryOptions = {},
): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const tar = pack();
  const writing = pipeline(tar, createWriteStream(temp, { flags: 'wx' }), {
    signal: options.signal,
  });
  try {
    const paths = await walk(dir, '', new Set(options.exclude ?? []));
    for (const path of paths) {
      options.signal?.throwIfAborted();
      if (path.endsWith('/')) await addEntry(tar, path, 0);
      else {
        const full = join(dir, path);
        await addEntry(tar, path, (await stat(full)).size, full);
      }
    }
    tar.finalize();
    await writing;
    await rename(temp, file);
  } catch (err) {
    tar.destroy();
    await writing.catch(() => {});
    await unlink(temp).catch(() => {});
    throw err;
  }
}
