import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors/index.js';
import type { ImageSource } from '../source/index.js';
import { dockerArchiveFromDir } from './docker-archive-source.js';
import { openExtracted } from './extract-archive.js';
import { type OpenArchiveOptions, ociArchiveFromDir } from './oci-archive.js';

/** The archive formats ocipeek reads and writes. */
export type ArchiveFormat = 'oci-archive' | 'docker-archive';

/** Options of {@link openArchiveSource}. */
export interface OpenArchiveSourceOptions extends OpenArchiveOptions {
  /** Default `auto`: `manifest.json` means a `docker save` archive, else an OCI layout. */
  format?: ArchiveFormat | 'auto';
}

/**
 * Open an image archive of either format as a copy source, extracting it once. `name` is
 * the image inside it (a tag for OCI archives, a RepoTag or `@N` for docker archives);
 * omit it when the archive holds one image.
 */
export async function openArchiveSource(
  file: string,
  name: string | undefined,
  options: OpenArchiveSourceOptions = {},
): Promise<ImageSource & { format: ArchiveFormat }> {
  return openExtracted(file, 'ocipeek-archive-', options, async (dir, cleanup) => {
    const has = async (f: string) =>
      (await stat(join(dir, f)).catch(() => undefined)) !== undefined;
    let format = options.format ?? 'auto';
    if (format === 'auto') {
      if (await has('manifest.json')) format = 'docker-archive';
      else if (await has('oci-layout')) format = 'oci-archive';
      else {
        throw new InvalidArgumentError(
          `${file} is neither a docker archive (no manifest.json) nor an OCI archive (no oci-layout)`,
        );
      }
    }
    const source =
      format === 'docker-archive'
        ? await dockerArchiveFromDir(dir, file, name, cleanup, options)
        : await ociArchiveFromDir(dir, file, name, cleanup, options);
    return Object.assign(source, { format });
  });
}
