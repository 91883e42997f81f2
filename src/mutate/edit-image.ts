import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors/index.js';
import type { ImageFilesystem } from '../fs/index.js';
import { exportFilesystem } from '../image/export-filesystem.js';
import { MediaType } from '../media/index.js';
import type { ImageDestination, OpenedImage } from '../source/index.js';
import { tempName } from '../store/atomic-file.js';
import { type ConfigChanges, mutateConfig } from './mutate-config.js';
import { layerFromPath, layerFromTar } from './new-layer.js';
import {
  historyStep,
  type ImageToWrite,
  type LayerToWrite,
  layersOf,
  type WrittenImage,
  writeImage,
} from './write-image.js';

/** Options every edit takes. */
export interface EditOptions {
  /** Where new layers wait before they are stored (default the system temp folder). */
  tmpDir?: string;
  signal?: AbortSignal;
}

function formatOf(image: OpenedImage): 'oci' | 'docker' {
  return image.manifest.mediaType === MediaType.dockerManifest ? 'docker' : 'oci';
}

/** Run `edit` with a temp folder for new layers, removed afterwards. */
export async function withWorkDir<T>(
  options: EditOptions,
  edit: (dir: string) => Promise<T>,
): Promise<T> {
  // Named with the pid, so the store's prune removes what a killed run leaves there.
  const dir = tempName(options.tmpDir ?? tmpdir(), 'edit');
  await mkdir(dir);
  try {
    return await edit(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * One edit of one image: what to write in its place. New layers wait in `workDir` until
 * written; an edit applied to every platform of an index runs once per image with the
 * same `workDir`.
 */
export type ImageEdit = (image: OpenedImage, workDir: string) => Promise<ImageToWrite>;

/** Write `edit` of `image` to `destination`, as one image. */
export async function editImage(
  image: OpenedImage,
  destination: ImageDestination,
  edit: ImageEdit,
  options: EditOptions = {},
): Promise<WrittenImage> {
  return withWorkDir(options, async (dir) =>
    writeImage(destination, await edit(image, dir), options),
  );
}

/** `crane mutate`: a changed runtime config and manifest annotations, the layers kept. */
export function mutation(
  changes: ConfigChanges & { annotations?: Record<string, string> },
): ImageEdit {
  return async (image) => ({
    layers: layersOf(image),
    config: mutateConfig(image.config, changes),
    format: formatOf(image),
    annotations: { ...image.manifest.annotations, ...changes.annotations },
  });
}

/**
 * `crane append`: new layers on top, one per path (a tar file, plain or compressed, or a
 * folder), each gzip-compressed and recorded in the history. Each layer is made once per
 * manifest format and reused for every image of an index.
 */
export function appending(paths: string[], options: EditOptions = {}): ImageEdit {
  if (paths.length === 0) throw new InvalidArgumentError('name at least one tar file or folder');
  const made = new Map<string, Promise<LayerToWrite[]>>();
  const layersFor = (format: 'oci' | 'docker', dir: string) => {
    let layers = made.get(format);
    if (!layers) {
      layers = (async () => {
        const added: LayerToWrite[] = [];
        for (const [i, path] of paths.entries()) {
          const file = join(dir, `layer-${format}-${i}`);
          added.push(await layerFromPath(path, file, { format, signal: options.signal }));
        }
        return added;
      })();
      made.set(format, layers);
    }
    return layers;
  };
  return async (image, dir) => {
    const format = formatOf(image);
    const history = [
      ...(image.config.history ?? []),
      ...paths.map((p) => historyStep(`ocipeek append ${p}`)),
    ];
    return {
      layers: [...layersOf(image), ...(await layersFor(format, dir))],
      config: { ...image.config, history },
      format,
      annotations: image.manifest.annotations,
    };
  };
}

/**
 * `crane flatten`: one layer holding the merged filesystem `fsOf` gives for the image
 * (built from the same image; see `exportFilesystem`), the config kept but for one
 * history step.
 */
export function flattening(
  fsOf: (image: OpenedImage) => Promise<ImageFilesystem>,
  options: EditOptions = {},
): ImageEdit {
  let n = 0;
  return async (image, dir) => {
    const format = formatOf(image);
    const tar = exportFilesystem(image, await fsOf(image), { signal: options.signal });
    const file = join(dir, `flat-${n++}`);
    const layer = await layerFromTar(tar, file, { format, signal: options.signal });
    const history = [
      historyStep(
        'ocipeek flatten',
        `flattened ${image.layers.length} layers of ${image.manifestDigest}`,
      ),
    ];
    return {
      layers: [layer],
      config: { ...image.config, history },
      format,
      annotations: image.manifest.annotations,
    };
  };
}

/**
 * `crane rebase`: the image's own layers (those above `oldBase`, whose layers it must
 * start with, compared by diff_id) put on `newBase`. The config is the image's, with
 * `newBase`'s history in place of `oldBase`'s.
 */
export function rebasing(oldBase: OpenedImage, newBase: OpenedImage): ImageEdit {
  return async (image) => {
    const oldIds = oldBase.config.rootfs.diff_ids;
    const ids = image.config.rootfs.diff_ids;
    if (oldIds.length > ids.length || oldIds.some((d, i) => ids[i] !== d)) {
      throw new InvalidArgumentError(
        `${image.name} is not built on ${oldBase.name}: its first layers are not the old base's`,
      );
    }
    const own = layersOf(image).slice(oldIds.length);
    const history = [
      ...(newBase.config.history ?? []),
      ...(image.config.history ?? []).slice(oldBase.config.history?.length ?? 0),
    ];
    return {
      layers: [...layersOf(newBase), ...own],
      config: { ...image.config, history },
      format: formatOf(image),
      annotations: image.manifest.annotations,
    };
  };
}

/** {@link mutation} of `image`, written to `destination`. */
export async function mutateImage(
  image: OpenedImage,
  destination: ImageDestination,
  changes: ConfigChanges & { annotations?: Record<string, string> },
  options: EditOptions = {},
): Promise<WrittenImage> {
  return editImage(image, destination, mutation(changes), options);
}

/** {@link appending} `paths` to `image`, written to `destination`. */
export async function appendLayers(
  image: OpenedImage,
  destination: ImageDestination,
  paths: string[],
  options: EditOptions = {},
): Promise<WrittenImage> {
  return editImage(image, destination, appending(paths, options), options);
}

/** {@link flattening} `image` (its merged filesystem `fs`), written to `destination`. */
export async function flattenImage(
  image: OpenedImage,
  fs: ImageFilesystem,
  destination: ImageDestination,
  options: EditOptions = {},
): Promise<WrittenImage> {
  return editImage(
    image,
    destination,
    flattening(async () => fs, options),
    options,
  );
}

/** {@link rebasing} `image` from `oldBase` onto `newBase`, written to `destination`. */
export async function rebaseImage(
  image: OpenedImage,
  oldBase: OpenedImage,
  newBase: OpenedImage,
  destination: ImageDestination,
  options: EditOptions = {},
): Promise<WrittenImage> {
  return editImage(image, destination, rebasing(oldBase, newBase), options);
}
