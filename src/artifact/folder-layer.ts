import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors/index.js';
import type { Descriptor } from '../media/index.js';
import { directoryTar, layerFromTar } from '../mutate/new-layer.js';
import type { ImageSource } from '../source/index.js';
import { unpackLayers } from '../unpack/index.js';
import { TITLE_ANNOTATION } from './artifact-manifest.js';

/** oras marks a layer that is a packed folder, to be unpacked on pull, with `"true"`. */
export const UNPACK_ANNOTATION = 'io.deis.oras.content.unpack';
/** oras records the digest of the folder's uncompressed tar here. */
export const CONTENT_DIGEST_ANNOTATION = 'io.deis.oras.content.digest';

/** Whether `layer` is a packed folder that pull unpacks (oras' annotation). */
export function isFolderLayer(layer: Descriptor): boolean {
  return layer.annotations?.[UNPACK_ANNOTATION] === 'true';
}

/**
 * The folder `dir` packed as oras pushes one: a gzip tar whose one top entry is the
 * folder, named `title` (see `directoryTar`), written to `file`; its descriptor carries
 * the title, the uncompressed tar's digest and the unpack mark.
 */
export async function packFolder(
  dir: string,
  title: string,
  file: string,
  options: { mediaType?: string; signal?: AbortSignal } = {},
): Promise<Descriptor> {
  const layer = await layerFromTar(directoryTar(dir, options.signal, title), file, {
    signal: options.signal,
  });
  return {
    ...layer.descriptor,
    ...(options.mediaType ? { mediaType: options.mediaType } : {}),
    annotations: {
      [TITLE_ANNOTATION]: title,
      [CONTENT_DIGEST_ANNOTATION]: layer.diffId,
      [UNPACK_ANNOTATION]: 'true',
    },
  };
}

/**
 * Unpack the packed folder `layer` (titled `title`) of `source` as `dir/title`: into a
 * temp folder inside `dir` first, through ocipeek's unpack (every path confined to it,
 * links included; owners not applied; the tar checked against the recorded digest),
 * then renamed into place once the tar proved to hold only `title/…`. With `replace`, a
 * `dir/title` that exists is replaced, else the caller has refused it.
 */
export async function unpackFolder(
  source: ImageSource,
  layer: Descriptor,
  dir: string,
  title: string,
  options: { replace?: boolean; signal?: AbortSignal } = {},
): Promise<void> {
  const { signal } = options;
  const temp = join(dir, `.${title}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const target = join(dir, title);
  await mkdir(temp);
  try {
    await unpackLayers(
      [
        {
          index: 0,
          descriptor: layer,
          diffId: layer.annotations?.[CONTENT_DIGEST_ANNOTATION],
          open: (o = {}) => source.openBlob(layer, { signal: o.signal ?? signal }),
        },
      ],
      join(temp, 'tree'),
      { rootless: true, ownerXattrs: false, signal },
    );
    const top = await readdir(join(temp, 'tree'));
    const stray = top.filter((name) => name !== title);
    if (stray.length > 0 || top.length === 0) {
      throw new InvalidArgumentError(
        `layer ${layer.digest} (folder ${title}) holds ${stray.length > 0 ? `${stray[0]} outside ${title}/` : 'nothing'}`,
      );
    }
    if (options.replace) await rename(target, join(temp, 'old')).catch(ignoreMissing);
    await rename(join(temp, 'tree', title), target);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
