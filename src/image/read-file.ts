import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { decompressStream } from '../compression/index.js';
import { InvalidArgumentError, PathNotFoundError, SymlinkLoopError } from '../errors/index.js';
import type { ImageFilesystem } from '../fs/index.js';
import { MAX_SYMLINK_HOPS } from '../fs/index.js';
import type { ImageLayer, OpenedImage } from '../source/index.js';
import { readTar, type TarRecord } from '../tar/index.js';

/** Options for {@link openImageFile}. */
export interface OpenImageFileOptions {
  /** A merged view already built (e.g. from the index cache): only one layer is read then. */
  fs?: ImageFilesystem;
  signal?: AbortSignal;
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** `/a/b/../c` → `a/c`; `..` never climbs above the image root. */
function clean(path: string): string {
  return posix.normalize(`/${path}`).replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Where a symlink at `linkPath` points: absolute targets are relative to the image root. */
function linkTarget(linkPath: string, target: string | undefined): string {
  const t = target ?? '';
  return clean(t.startsWith('/') ? t : `${posix.dirname(linkPath)}/${t}`);
}

function ancestors(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

type LayerVerdict =
  | { kind: 'found'; stream: Readable }
  | { kind: 'redirect'; path: string; fromLayer: number }
  | { kind: 'hidden'; reason?: string }
  | { kind: 'absent' };

/** A stream of one record's body that closes the layer once the body has been read. */
function bodyStream(iterator: AsyncGenerator<TarRecord>, record: TarRecord): Readable {
  async function* body() {
    try {
      yield* record.readBody();
    } finally {
      await iterator.return(undefined);
    }
  }
  return Readable.from(body(), { objectMode: false });
}

/**
 * Look for `path` in one layer. Stops reading the layer as soon as the file's bytes are
 * handed over; a whiteout or opaque directory above it, or an ancestor replaced by a
 * symlink or a file, decides the answer for every layer below.
 */
async function searchLayer(
  layer: ImageLayer,
  path: string,
  signal: AbortSignal | undefined,
): Promise<LayerVerdict> {
  const tar = await decompressStream(await layer.open({ signal }), {
    mediaType: layer.descriptor.mediaType,
    signal,
  });
  const iterator = readTar(tar, { signal });
  const above = new Set(ancestors(path));
  let hidden: LayerVerdict | undefined;
  let handedOver = false;
  try {
    // Iterated by hand: leaving a for-await loop would close the tar (and the body with it).
    for (let step = await iterator.next(); !step.done; step = await iterator.next()) {
      const record = step.value;
      const e = record.entry;
      if (e.path === path) {
        if (e.type === 'file') {
          handedOver = true;
          return { kind: 'found', stream: bodyStream(iterator, record) };
        }
        if (e.type === 'symlink') {
          return {
            kind: 'redirect',
            path: linkTarget(path, e.linkname),
            fromLayer: Number.POSITIVE_INFINITY,
          };
        }
        if (e.type === 'hardlink') {
          return { kind: 'redirect', path: clean(e.linkname ?? ''), fromLayer: layer.index };
        }
        if (e.type === 'dir') throw new InvalidArgumentError(`/${path}: is a directory`);
        throw new InvalidArgumentError(`/${path}: not a regular file (${e.type})`);
      }
      const base = posix.basename(e.path);
      const dir = posix.dirname(e.path) === '.' ? '' : posix.dirname(e.path);
      if (base === OPAQUE && (dir === '' || above.has(dir))) hidden ??= { kind: 'hidden' };
      else if (base.startsWith(WHITEOUT)) {
        const deleted = dir ? `${dir}/${base.slice(WHITEOUT.length)}` : base.slice(WHITEOUT.length);
        if (deleted === path || above.has(deleted)) hidden = { kind: 'hidden' };
      } else if (above.has(e.path) && e.type !== 'dir') {
        if (e.type === 'symlink') {
          const rest = path.slice(e.path.length + 1);
          const target = linkTarget(e.path, e.linkname);
          return {
            kind: 'redirect',
            path: clean(`${target}/${rest}`),
            fromLayer: Number.POSITIVE_INFINITY,
          };
        }
        hidden = { kind: 'hidden', reason: 'not a directory' };
      }
    }
    return hidden ?? { kind: 'absent' };
  } finally {
    if (!handedOver) await iterator.return(undefined);
  }
}

/**
 * Stream the content of the file at `path` in an image, following symlinks inside the
 * image root and reading hardlinks' targets. Without a prebuilt view, layers are searched
 * from the top down and the search stops at the first layer that has the path or hides
 * it; no other layer is fetched. With `fs`, only the layer holding the file is read.
 */
export async function openImageFile(
  image: OpenedImage,
  path: string,
  options: OpenImageFileOptions = {},
): Promise<Readable> {
  if (options.fs) return openViaIndex(image, options.fs, path, options.signal);
  let target = clean(path);
  let start = image.layers.length - 1;
  for (let hops = 0; hops <= MAX_SYMLINK_HOPS; hops++) {
    let verdict: LayerVerdict = { kind: 'absent' };
    for (let i = start; i >= 0; i--) {
      verdict = await searchLayer(image.layers[i]!, target, options.signal);
      if (verdict.kind !== 'absent') break;
    }
    if (verdict.kind === 'found') return verdict.stream;
    if (verdict.kind === 'redirect') {
      target = verdict.path;
      start = Math.min(verdict.fromLayer, image.layers.length - 1);
      continue;
    }
    throw new PathNotFoundError(
      `/${clean(path)}`,
      verdict.kind === 'hidden' ? verdict.reason : undefined,
    );
  }
  throw new SymlinkLoopError(`/${clean(path)}`, MAX_SYMLINK_HOPS);
}

async function openViaIndex(
  image: OpenedImage,
  fs: ImageFilesystem,
  path: string,
  signal: AbortSignal | undefined,
): Promise<Readable> {
  const resolved = fs.stat(path, { follow: true });
  const entry = resolved.type === 'hardlink' ? fs.linkContent(resolved.path) : resolved;
  if (entry.type === 'dir') throw new InvalidArgumentError(`${path}: is a directory`);
  if (entry.type !== 'file')
    throw new InvalidArgumentError(`${path}: not a regular file (${entry.type})`);
  const layer = image.layers[entry.layer]!;
  const tar = await decompressStream(await layer.open({ signal }), {
    mediaType: layer.descriptor.mediaType,
    signal,
  });
  const iterator = readTar(tar, { signal });
  for (let step = await iterator.next(); !step.done; step = await iterator.next()) {
    if (step.value.entry.headerOffset === entry.headerOffset)
      return bodyStream(iterator, step.value);
  }
  throw new PathNotFoundError(path, `not found in layer ${layer.index} where the index put it`);
}
