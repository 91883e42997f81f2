import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, link as hardLink, mkdir, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, posix, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { InvalidTarError, isOcipeekError, NotFoundError, TooLargeError } from '../errors/index.js';
import { tempName } from '../store/atomic-file.js';

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
    throw new InvalidTarError(`${archive}: entry "${name}" has an absolute path`);
  }
  const normal = posix.normalize(cleaned);
  if (normal === '..' || normal.startsWith('../') || cleaned.split('/').includes('..')) {
    throw new InvalidTarError(`${archive}: entry "${name}" points outside the archive`);
  }
  return normal.replace(/\/+$/, '');
}

/** How the archive file starts and ends: gzip magic, and whether a plain tar is closed. */
async function inspectFile(
  file: string,
): Promise<{ gzip: boolean; endMarker: boolean; size: number }> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    const gzip = bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
    // A tar ends with two zero blocks; without them the file was cut, possibly right at
    // an entry boundary where the parser alone cannot tell.
    const size = (await handle.stat()).size;
    const tail = Buffer.alloc(1024);
    const got = size >= 1024 ? (await handle.read(tail, 0, 1024, size - 1024)).bytesRead : 0;
    return { gzip, endMarker: got === 1024 && tail.every((b) => b === 0), size };
  } finally {
    await handle.close();
  }
}

/**
 * Extract a tar archive (plain or gzip-compressed) into the empty folder `dir`, safely:
 * entries with absolute or `..` paths are refused before anything is written for them,
 * links may only point at files inside the archive (they become hard links, or copies
 * where the file system has none), devices and FIFOs are refused, and an archive that
 * ends inside an entry fails with `InvalidTarError` naming the file. What an archive may
 * unpack to is bounded ({@link ExtractArchiveOptions.maxBytes}, `maxEntries`): the check
 * is on each entry's declared size, before its bytes are written.
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
    if (!gzip && !info.endMarker) {
      throw new InvalidTarError(`${file} is truncated (no end-of-archive marker)`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`no such archive: ${file}`);
    }
    throw err;
  }
  const root = resolve(dir);
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
  const parser = extract();
  const input: Readable = createReadStream(file, { signal: options.signal });
  const stages: NodeJS.ReadWriteStream[] = gzip ? [createGunzip()] : [];
  const feeding = pipeline(input, ...(stages as []), parser).catch((err: unknown) => {
    parser.destroy(err as Error);
  });
  let failure: unknown;
  const parserFailed = new Promise<never>((_, reject) => {
    parser.once('error', reject);
    parser.once('close', () => reject(new Error('archive reader closed')));
  });
  parserFailed.catch(() => {});
  try {
    for await (const entry of parser) {
      if (failure !== undefined) {
        entry.resume();
        continue;
      }
      try {
        const tarEntry = entry as unknown as TarEntry;
        spend(budget, tarEntry.header, file);
        await extractEntry(tarEntry, parserFailed, root, file, files, links);
      } catch (err) {
        // Leaving the loop early would call the iterator's return(), which never settles
        // on an errored tar-stream parser: stop the parser and let the loop end instead.
        failure = err;
        parser.destroy(err as Error);
      }
    }
    await feeding;
  } catch (err) {
    failure ??= err;
  }
  if (failure !== undefined) {
    input.destroy();
    throw asTarError(failure, file);
  }
  await resolveLinks(root, links, files, file, budget);
  return { files };
}

/** What the extractor hands over per entry. */
type TarEntry = Readable & {
  header: { name: string; type?: string | null; linkname?: string | null; size?: number };
};

/** What an archive may still unpack to. */
interface ExtractBudget {
  bytesLeft: number;
  entriesLeft: number;
  readonly maxBytes: number;
  readonly maxEntries: number;
}

/** Count one entry against the budget, refusing it before anything of it is written. */
function spend(budget: ExtractBudget, header: TarEntry['header'], file: string): void {
  if (--budget.entriesLeft < 0) {
    throw new InvalidTarError(
      `${file} holds more than ${budget.maxEntries} entries; image archives hold a few per blob`,
    );
  }
  spendBytes(budget, header.size ?? 0, file);
}

function spendBytes(budget: ExtractBudget, bytes: number, file: string): void {
  budget.bytesLeft -= bytes;
  if (budget.bytesLeft < 0) {
    throw new TooLargeError(`archive ${file} once extracted`, budget.maxBytes);
  }
}

/** Write one entry (files and folders) or record it (links) under `root`. */
async function extractEntry(
  entry: TarEntry,
  parserFailed: Promise<never>,
  root: string,
  file: string,
  files: string[],
  links: Array<{ path: string; target: string }>,
): Promise<void> {
  const { header } = entry;
  const rel = safeEntryPath(header.name, file);
  const target = join(root, rel);
  if (rel !== '' && !target.startsWith(root + sep)) {
    throw new InvalidTarError(`${file}: entry "${header.name}" points outside the archive`);
  }
  switch (header.type) {
    case 'directory':
      await mkdir(target, { recursive: true });
      entry.resume();
      return;
    case 'file':
    case 'contiguous-file':
      await mkdir(dirname(target), { recursive: true });
      // A parser that fails between entries leaves this entry neither ended nor errored.
      await Promise.race([pipeline(entry, createWriteStream(target)), parserFailed]);
      files.push(rel);
      return;
    case 'symlink':
    case 'link': {
      const linkname = header.linkname ?? '';
      if (posix.isAbsolute(linkname)) {
        throw new InvalidTarError(`${file}: link "${header.name}" points at an absolute path`);
      }
      const base = header.type === 'symlink' ? posix.dirname(rel) : '';
      links.push({ path: rel, target: safeEntryPath(posix.join(base, linkname), file) });
      entry.resume();
      return;
    }
    default:
      throw new InvalidTarError(
        `${file}: entry "${header.name}" is a ${header.type ?? 'unknown'}; archives of images hold only files, folders and links`,
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
      const from = join(root, link.target);
      const info = await stat(from).catch(() => undefined);
      if (!info?.isFile()) {
        next.push(link);
        continue;
      }
      const to = join(root, link.path);
      await mkdir(dirname(to), { recursive: true });
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
      `${archive}: link "${first.path}" points at "${first.target}", which the archive does not hold`,
    );
  }
}

function asTarError(err: unknown, file: string): unknown {
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
