import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors/index.js';
import { isIndex, parseManifest } from '../media/index.js';
import {
  editEachPlatform,
  editImage,
  type ImageEdit,
  type WrittenImage,
  type WrittenIndex,
} from '../mutate/index.js';
import { openDestination } from '../places/index.js';
import { formatPlatform, listPlatforms } from '../platform/index.js';
import { openImage, sourceName } from '../source/index.js';
import { type CliContext, contextFor } from './context.js';
import { printJson, printLines } from './format.js';
import { openCliSource } from './image-source.js';
import { storeTmpDir } from './store-tmp.js';

/** How {@link runEdit} treats an index. */
export interface EditPlan {
  /** The command's name, for messages. */
  verb: string;
  /**
   * An index given without `--platform`: edit every platform's image and write a new index
   * (crane's `mutate`, `append`, `flatten`); else `--platform` is required.
   */
  eachPlatform: boolean;
}

/**
 * Edit the image `refArg` names (`edit` made once the run's context is known) and write
 * the result to `dst` (any place), then print where it went. A single image is edited
 * as it is; an index, one platform's image with `--platform`, else every platform's when
 * `plan.eachPlatform` says (a new index), else a usage error naming the platforms.
 */
export async function runEdit(
  cmd: Command,
  refArg: string,
  dst: string,
  json: boolean | undefined,
  plan: EditPlan,
  makeEdit: (ctx: CliContext) => ImageEdit | Promise<ImageEdit>,
): Promise<void> {
  const ctx = await contextFor(cmd);
  const { signal } = ctx;
  // The layers are read, so a moved tag refreshes the store as `ls` does.
  const source = await openCliSource(cmd, refArg, { refreshStore: true });
  const top = await source.root({ signal });
  const index = parseManifest(top.bytes, top.mediaType);
  const everyPlatform = isIndex(index) && !ctx.platform;
  if (everyPlatform && !plan.eachPlatform) {
    const platforms = listPlatforms(index.manifests).map(formatPlatform).join(', ');
    throw new InvalidArgumentError(
      `${sourceName(source)} is an index (${platforms}): ${plan.verb} edits one image, name it with --platform`,
    );
  }
  const edit = await makeEdit(ctx);
  const tmpDir = await storeTmpDir(ctx);
  const destination = await openDestination(dst, {
    client: ctx.client,
    storeDir: ctx.options.store,
    imageName: source.imageName,
    signal,
    tmpDir,
  });
  let written: WrittenImage | WrittenIndex;
  if (everyPlatform) {
    written = await editEachPlatform(source, destination, edit, { tmpDir, signal });
    const dropped = written.dropped.length;
    if (dropped > 0) {
      process.stderr.write(
        `note: ${dropped} attestation manifest(s) left out: they describe the images before the edit\n`,
      );
    }
  } else {
    // The image shares `source`, which is closed when the run ends.
    const image = await openImage(source, { platform: ctx.platform, signal });
    written = await editImage(image, destination, edit, { tmpDir, signal });
  }
  if (json || ctx.options.json) {
    return printJson({
      source: sourceName(source),
      destination: destination.description,
      digest: written.digest,
      ...('config' in written
        ? { config: written.config.digest }
        : {
            images: written.images.map((i) => ({
              platform: i.platform ? formatPlatform(i.platform) : undefined,
              from: i.from,
              digest: i.digest,
            })),
          }),
    });
  }
  printLines(`${destination.description} ${written.digest}`);
}
