import { InvalidTarError, UnsupportedError } from '../errors/index.js';
import type { FsEntry, ImageFilesystem } from '../fs/index.js';
import type { OpenedImage } from '../source/index.js';
import {
  escapeName,
  packTar,
  readTar,
  type TarHeaderFields,
  type TarWriteEntry,
} from '../tar/index.js';
import { openLayerTar } from './build-filesystem.js';

/** Options of {@link exportFilesystem}. */
export interface ExportFilesystemOptions {
  signal?: AbortSignal;
}

/** Paths sharing one file content (a file and its hardlinks), in listing order. */
interface ContentGroup {
  /** The content's entry: its metadata goes on the first path. */
  content: FsEntry;
  paths: string[];
}

/**
 * The merged filesystem of `image` as one tar stream (crane export): every path of the
 * view `fs` (built from the same image) once, with what the top layer that wrote it said,
 * whiteouts applied and absent. Directories, symlinks, devices, fifos and empty files come
 * first, in listing order (parents before children); then each regular file's content,
 * read in one pass over the layers that hold visible content, bottom up, so no layer is
 * read twice and nothing is buffered. Each layer read is read to its end, so a layer whose
 * digest does not match fails the stream. A file and its hardlinks are one content: the first
 * path carries it, the others are hardlinks to that path (also when the link's original
 * target was removed by a later layer).
 */
export async function* exportFilesystem(
  image: OpenedImage,
  fs: ImageFilesystem,
  options: ExportFilesystemOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  yield* packTar(filesystemEntries(image, fs, options), { signal: options.signal });
}

async function* filesystemEntries(
  image: OpenedImage,
  fs: ImageFilesystem,
  options: ExportFilesystemOptions,
): AsyncGenerator<TarWriteEntry, void, undefined> {
  const { signal } = options;
  /** Content groups by `layer:dataOffset` of their content, per layer. */
  const byLayer = new Map<number, Map<number, ContentGroup>>();
  const groups: ContentGroup[] = [];
  const plain: FsEntry[] = [];
  for (const entry of fs.walk('/')) {
    if (entry.type !== 'file' && entry.type !== 'hardlink') {
      plain.push(entry);
      continue;
    }
    const content = entry.type === 'hardlink' ? fs.linkContent(entry.path) : entry;
    if (content.sparse) {
      throw new UnsupportedError(`${escapeName(entry.path)}: sparse files cannot be exported`);
    }
    let layer = byLayer.get(content.layer);
    if (!layer) {
      layer = new Map();
      byLayer.set(content.layer, layer);
    }
    let group = layer.get(content.dataOffset);
    if (!group) {
      group = { content, paths: [] };
      layer.set(content.dataOffset, group);
      groups.push(group);
    }
    group.paths.push(entry.path);
  }
  for (const entry of plain) yield { header: headerOf(entry, entry.path) };
  for (const group of groups) {
    if (group.content.size === 0) yield* groupEntries(group, new Uint8Array(0));
  }
  const layers = [...byLayer.keys()].sort((a, b) => a - b);
  for (const index of layers) {
    const wanted = new Map([...byLayer.get(index)!].filter(([, g]) => g.content.size > 0));
    if (wanted.size === 0) continue;
    const tar = await openLayerTar(image.layers[index]!, { signal });
    try {
      for await (const record of readTar(tar, { signal })) {
        const group = wanted.get(record.entry.dataOffset);
        if (!group || record.entry.type !== 'file') continue;
        wanted.delete(record.entry.dataOffset);
        yield* groupEntries(group, record.readBody());
      }
      // Read to the end even when every file was found: the layer's digest is checked
      // only there, and a corrupt layer must fail the export.
    } finally {
      tar.destroy();
    }
    if (wanted.size > 0) {
      const [first] = wanted.values();
      throw new InvalidTarError(
        `layer ${index} no longer holds ${escapeName(first!.paths[0]!)} where its listing said`,
        first!.content.dataOffset,
      );
    }
  }
}

/** The first path of a group with the content, the others as hardlinks to it. */
function* groupEntries(
  group: ContentGroup,
  body: TarWriteEntry['body'],
): Generator<TarWriteEntry, void, undefined> {
  const [first, ...links] = group.paths;
  yield { header: headerOf(group.content, first!), body };
  for (const path of links) {
    yield {
      header: {
        ...headerOf(group.content, path),
        type: 'hardlink',
        size: 0,
        linkname: tarPath(first!),
      },
    };
  }
}

/** An absolute view path as a tar member name. */
function tarPath(path: string): string {
  return path.replace(/^\/+/, '');
}

function headerOf(entry: FsEntry, path: string): TarHeaderFields {
  const header: TarHeaderFields = {
    path: tarPath(path),
    type: entry.type,
    size: entry.type === 'file' ? entry.size : 0,
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    mtime: entry.mtime,
  };
  if (entry.uname !== undefined) header.uname = entry.uname;
  if (entry.gname !== undefined) header.gname = entry.gname;
  if (entry.type === 'symlink') header.linkname = entry.linkname;
  if (entry.devmajor !== undefined) header.devmajor = entry.devmajor;
  if (entry.devminor !== undefined) header.devminor = entry.devminor;
  if (entry.xattrs !== undefined) header.xattrs = entry.xattrs;
  return header;
}
