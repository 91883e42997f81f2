import type { WrittenImage } from '../mutate/index.js';
import { openDestination } from '../places/index.js';
import type { ImageDestination } from '../source/index.js';
import { printJson, printLines } from './format.js';
import type { CliImage } from './image-source.js';
import { storeTmpDir } from './store-tmp.js';

/**
 * Open `dst` (any place) for an edited version of `img`, run `edit` with it and the
 * store's temp folder (for new layers), and print where the result went.
 */
export async function runEdit(
  img: CliImage,
  dst: string,
  json: boolean | undefined,
  edit: (destination: ImageDestination, tmpDir: string) => Promise<WrittenImage>,
): Promise<void> {
  const { ctx } = img;
  const tmpDir = await storeTmpDir(ctx);
  const destination = await openDestination(dst, {
    client: ctx.client,
    storeDir: ctx.options.store,
    imageName: img.image.imageName,
    signal: ctx.signal,
    tmpDir,
  });
  const written = await edit(destination, tmpDir);
  if (json || ctx.options.json) {
    return printJson({
      source: img.image.name,
      destination: destination.description,
      digest: written.digest,
      config: written.config.digest,
    });
  }
  printLines(`${destination.description} ${written.digest}`);
}
