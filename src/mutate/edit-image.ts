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
async function withWorkDir<T>(options: EditOptions, edit: (dir: string) => Promise<T>): Promise<T> {
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
 * `crane mutate`: `image` with a changed runtime config and manifest annotations, its
 * layers kept as they are, written to `destination`.
 */
export async function mutateImage(
  image: OpenedImage,
  destination: ImageDestination,
  changes: ConfigChanges & { annotations?: Record<string, string> },
  options: EditOptions = {},
): Promise<WrittenImage> {
  return writeImage(
    destination,
    {
      layers: layersOf(image),
      config: mutateConfig(image.config, changes),
      format: formatOf(image),
      annotations: { ...image.manifest.annotations, ...changes.annotations },
    },
    options,
  );
}

/**
 * `crane append`: `image` with new layers on top, one per path (a tar file, plain or
 * compressed, or a folder), each gzip-compressed and recorded in the history.
 */
export async function appendLayers(
  image: OpenedImage,
  destination: ImageDestination,
  paths: string[],
  options: EditOptions = {},
): Promise<WrittenImage> {
  if (paths.length === 0) throw new InvalidArgumentError('name at least one tar file or folder');
  return withWorkDir(options, async (dir) => {
    const format = formatOf(image);
    const added: LayerToWrite[] = [];
    for (const [i, path] of paths.entries()) {
      added.push(
        await layerFromPath(path, join(dir, `layer-${i}`), { format, signal: options.signal }),
      );
    }
    const history = [
      ...(image.config.history ?? []),
      ...paths.map((p) => historyStep(`ocipeek append ${p}`)),
    ];
    return writeImage(
      destination,
      {
        layers: [...layersOf(image), ...added],
        config: { ...image.config, history },
        format,
        annotations: image.manifest.annotations,
      },
      options,
    );
  });
}

/**
 * `crane flatten`: `image` as one layer holding its merged filesystem `fs` (built from
 * the same image; see `exportFilesystem`), the config kept but for one history step.
 */
export async function flattenImage(
  image: OpenedImage,
  fs: ImageFilesystem,
  destination: ImageDestination,
  options: EditOptions = {},
): Promise<WrittenImage> {
  return withWorkDir(options, async (dir) => {
    const format = formatOf(image);
    const tar = exportFilesystem(image, fs, { signal: options.signal });
    const layer = await layerFromTar(tar, join(dir, 'flat'), { format, signal: options.signal });
    const history = [
      historyStep(
        'ocipeek flatten',
        `flattened ${image.layers.length} layers of ${image.manifestDigest}`,
      ),
    ];
    return writeImage(
      destination,
      {
        layers: [layer],
        config: { ...image.config, history },
        format,
        annotations: image.manifest.annotations,
      },
      options,
    );
  });
}

/**
 * `crane rebase`: `image`'s own layers (those above `oldBase`, whose layers it must start
 * with, compared by diff_id) put on `newBase`. The config is `image`'s, with `newBase`'s
 * history in place of `oldBase`'s.
 */
export async function rebaseImage(
  image: OpenedImage,
  oldBase: OpenedImage,
  newBase: OpenedImage,
  destination: ImageDestination,
  options: EditOptions = {},
): Promise<WrittenImage> {
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
  return writeImage(
    destination,
    {
      layers: [...layersOf(newBase), ...own],
      config: { ...image.config, history },
      format: formatOf(image),
      annotations: image.manifest.annotations,
    },
    options,
  );
}
