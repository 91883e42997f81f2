import { createReadStream } from 'node:fs';
import { copyFile, link as hardLink, mkdir, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, posix, resolve, sep } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { InvalidTarError, isOcipeekError, NotFoundError, TooLargeError } from '../errors/index.js';
import { tempName } from '../store/atomic-file.js';
import { PositionalWriter, type WriteTarget, writeTargetFor } from '../store/positional-writer.js';
import { escapeName, fsPath, readTar, type TarEntry, type TarRecord } from '../tar/index.js';

/** Archives are read in 1 MiB pieces (blobs are big; 64 KiB reads only cost round trips). */
const READ_CHUNK = 1024 * 1024;

/** Options of {@link extractArchive}. */
export interface ExtractArchiveOptions {
  signal?: AbortSignal;
  /**
   * Most bytes the archive's files may add up to once extracted. Default: the archive's
   * own size for a plain tar (its files cannot be bigger), and 20 times its size plus
   * 1 GiB for a gzipped one, which stops a gzip bomb long before it fills the disk while
   * leaving room for `docker save | gzip` of uncompressed layers (~3:1).
   */
  maxBytes?: number;
  /** Most entries the archive may hold (default 100,000; image archives hold a few per blob). */
  maxEntries?: number;
}

/** Default of {@link ExtractArchiveOptions.maxEntries}. */
export const DEFAULT_MAX_ARCHIVE_ENTRIES = 100_000;

/** Default of {@link ExtractArchiveOptions.maxBytes} for an archive of `size` bytes. */
export function defaultMaxExtractedBytes(size: number, gzip: boolean): number {
  return gzip ? size * 20 + 1024 ** 3 : size;
}

/** What {@link extractArchive} wrote. */
export interface ExtractedArchive {
  /** Regular files written (archive-relative POSIX paths), links resolved to copies. */
  files: string[];
}

/**
 * The archive-relative path of an entry name, or a thrown `InvalidTarError` when it is
 * absolute or climbs out with `..`: an archive must never write outside its folder.
 */
export function safeEntryPath(name: string, archive: string): string {
  const cleaned = name.replace(/^(\.\/)+/, '');
  if (cleaned.includes('\0') || isAbsolute(cleaned) || cleaned.startsWith('/')) {
    throw new InvalidTarError(`${archive}: entry "${escapeName(name)}" has an absolute path`);
  }
  const normal = posix.normalize(cleaned);
  if (normal === '..' || normal.startsWith('../') || cleaned.split('/').includes('..')) {
    throw new InvalidTarError(`${archive}: entry "${escapeName(name)}" points outside the archive`);
  }
  // `./` (what `tar -cf x.tar -C DIR .` writes first) is the archive's own folder.
  return normal === '.' ? '' : normal.replace(/\/+$/, '');
}

/** Whether the archive file is gzip-compressed, and its size. */
async function inspectFile(file: string): Promise<{ gzip: boolean; size: number }> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    const gzip = bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
    return { gzip, size: (await handle.stat()).size };
  } finally {
    await handle.close();
  }
}

/**
 * Extract a tar archive (plain or gzip-compressed) into the empty folder `dir`, safely:
 * entries with absolute or `..` paths are refused before anything is written for them,
 * links may only point at files inside the archive (they become hard links, or copies
 * where the file system has none), devices and FIFOs are refused, and an archive that
 * ends inside an entry or without its end-of-archive marker (cut at an entry boundary)
 * fails with `InvalidTarError` naming the file. What an archive may unpack to is bounded
 * ({@link ExtractArchiveOptions.maxBytes}, `maxEntries`): the check is on each entry's
 * declared size, before its bytes are written. Parsing is the project's tar reader's;
 * names are kept as bytes (`tar/name-codec.ts`).
 */
export async function extractArchive(
  file: string,
  dir: string,
  options: ExtractArchiveOptions = {},
): Promise<ExtractedArchive> {
  let gzip: boolean;
  let archiveSize: number;
  try {
    const info = await inspectFile(file);
    gzip = info.gzip;
    archiveSize = info.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`no such archive: ${file}`);
    }
    throw err;
  }
  const root = resolve(dir);
  // The answer of the folder that holds DIR: DIR is usually a fresh staging folder of
  // this run, its parent the lasting temp folder (one `statfs` answer per folder).
  const writeTarget = await writeTargetFor(dirname(root));
  const maxBytes = options.maxBytes ?? defaultMaxExtractedBytes(archiveSize, gzip);
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ARCHIVE_ENTRIES;
  const budget: ExtractBudget = {
    bytesLeft: maxBytes,
    entriesLeft: maxEntries,
    maxBytes,
    maxEntries,
  };
  const files: string[] = [];
  const links: Array<{ path: string; target: string }> = [];
  const input = createReadStream(file, { highWaterMark: READ_CHUNK, signal: options.signal });
  // The callback form hands back the gunzip stream; a failure anywhere destroys it with
  // the error, which its iterator (and so readTar) then throws.
  const source: Readable = gzip ? pipeline(input, createGunzip(), () => {}) : input;
  try {
    // Raw names: an absolute or climbing name is refused here, not quietly confined.
    for await (const record of readTar(source, { rawNames: true, signal: options.signal })) {
      spend(budget, record.entry, file);
      await extractEntry(record, root, file, files, links, writeTarget);
    }
  } catch (err) {
    input.destroy();
    throw asTarError(err, file);
  }
  await resolveLinks(root, links, files, file, budget);
  return { files };
}

/** What an archive may still unpack to. */
interface ExtractBudget {
  bytesLeft: number;
  entriesLeft: number;
  readonly maxBytes: number;
  readonly maxEntries: number;
}

/** Count one entry against the budget, refusing it before anything of it is written. */
function spend(budget: ExtractBudget, entry: TarEntry, file: string): void {
  if (--budget.entriesLeft < 0) {
    throw new InvalidTarError(
      `${file} holds more than ${budget.maxEntries} entries; image archives hold a few per blob`,
    );
  }
  spendBytes(budget, entry.type === 'file' ? entry.size : 0, file);
}

function spendBytes(budget: ExtractBudget, bytes: number, file: string): void {
  budget.bytesLeft -= bytes;
  if (budget.bytesLeft < 0) {
    throw new TooLargeError(`archive ${file} once extracted`, budget.maxBytes);
  }
}

/**
 * Write a file's content (an archive's blob), as the reader streams it, to a new file at
 * `target`, as every blob writer writes: `writeTarget` decides the calls. Each chunk is
 * written before the next is read (the reader may reuse its memory).
 */
async function writeBody(record: TarRecord, target: string, writeTarget: WriteTarget) {
  const handle = await open(fsPath(target), 'w');
  try {
    const writer = new PositionalWriter(handle, 0, { target: writeTarget });
    for await (const chunk of record.readBody()) await writer.write(chunk);
  } finally {
    await handle.close();
  }
}

/** Write one entry (files and folders) or record it (links) under `root`. */
async function extractEntry(
  record: TarRecord,
  root: string,
  file: string,
  files: string[],
  links: Array<{ path: string; target: string }>,
  writeTarget: WriteTarget,
): Promise<void> {
  const entry = record.entry;
  const shown = escapeName(entry.path);
  const rel = safeEntryPath(entry.path, file);
  const target = join(root, rel);
  if (rel !== '' && !target.startsWith(root + sep)) {
    throw new InvalidTarError(`${file}: entry "${shown}" points outside the archive`);
  }
  switch (entry.type) {
    case 'dir':
      await mkdir(fsPath(target), { recursive: true });
      return;
    case 'file':
      if (entry.sparse) {
        throw new InvalidTarError(`${file}: entry "${shown}" is a sparse file`);
      }
      await mkdir(fsPath(dirname(target)), { recursive: true });
      await writeBody(record, target, writeTarget);
      files.push(rel);
      return;
    case 'symlink':
    case 'hardlink': {
      const linkname = entry.linkname ?? '';
      if (posix.isAbsolute(linkname)) {
        throw new InvalidTarError(`${file}: link "${shown}" points at an absolute path`);
      }
      const base = entry.type === 'symlink' ? posix.dirname(rel) : '';
      links.push({ path: rel, target: safeEntryPath(posix.join(base, linkname), file) });
      return;
    }
    default:
      throw new InvalidTarError(
        `${file}: entry "${shown}" is a ${entry.type}; archives of images hold only files, folders and links`,
      );
  }
}

/**
 * Links become hard links to their targets (a few passes for chains of links): no bytes
 * are duplicated, so an archive of one big file and many links to it cannot fill the disk.
 * A file system without hard links gets copies, counted against the byte budget.
 */
async function resolveLinks(
  root: string,
  links: Array<{ path: string; target: string }>,
  files: string[],
  archive: string,
  budget: ExtractBudget,
): Promise<void> {
  let pending = links;
  for (let pass = 0; pending.length > 0 && pass < 8; pass++) {
    const next: typeof pending = [];
    for (const link of pending) {
      const from = fsPath(join(root, link.target));
      const info = await stat(from).catch(() => undefined);
      if (!info?.isFile()) {
        next.push(link);
        continue;
      }
      const to = fsPath(join(root, link.path));
      await mkdir(fsPath(dirname(join(root, link.path))), { recursive: true });
      await hardLink(from, to).catch(async () => {
        spendBytes(budget, info.size, archive);
        await copyFile(from, to);
      });
      files.push(link.path);
    }
    if (next.length === pending.length) break;
    pending = next;
  }
  if (pending.length > 0) {
    const first = pending[0]!;
    throw new InvalidTarError(
      `${archive}: link "${escapeName(first.path)}" points at "${escapeName(first.target)}", which the archive does not hold`,
    );
  }
}

function asTarError(err: unknown, file: string): unknown {
  if (err instanceof InvalidTarError && !err.message.includes(file)) {
    // The reader's own error, which cannot know the file's name.
    const reason = err.message.replace(/^invalid tar(?: at \d+)?: /, '');
    return new InvalidTarError(`${file}: ${reason}`, err.offset);
  }
  if (isOcipeekError(err) || (err as Error)?.name === 'AbortError') return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'Z_BUF_ERROR' || /unexpected end/i.test(message)) {
    return new InvalidTarError(`${file} is truncated (${message})`);
  }
  if (code?.startsWith('Z_') || /invalid tar|header|checksum/i.test(message)) {
    return new InvalidTarError(`${file}: ${message}`);
  }
  return err;
}

/**
 * Extract `file` into a new temp folder (under `options.tmpDir`, default the system one)
 * and hand it to `open` with the function that removes it; the folder is removed at once
 * when extraction or `open` fails, else it is the opened source's to remove on close.
 *
 * The folder is named like the store's temp files (`PREFIX.PID.RANDOM.tmp`): staged in a
 * store's `.ocipeek/tmp` (as `import` does), a folder left by a killed process is
 * removed by `prune` once that process is gone.
 */
export async function openExtracted<T>(
  file: string,
  prefix: string,
  options: ExtractArchiveOptions & { tmpDir?: string },
  open: (dir: string, cleanup: () => Promise<void>) => Promise<T>,
): Promise<T> {
  const dir = tempName(options.tmpDir ?? tmpdir(), prefix.replace(/-+$/, ''));
  await mkdir(dir, { mode: 0o700 });
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await extractArchive(file, dir, options);
    return await open(dir, cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}
