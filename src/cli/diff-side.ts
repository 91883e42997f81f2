import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import type { FsEntry } from '../fs/index.js';
import type { DiffSide } from '../image/index.js';
import { type CliImage, cliFilesystem, warnRefused } from './cli-image.js';
import { cliIndexedImage } from './lazy-image.js';

/** Files hashed at once through a seek index (each a few range requests). */
const READ_CONCURRENCY = 4;

/**
 * One image of `diff` as the one diff rule (`diffImages`) takes it: through the seek
 * index when it covers every layer (the view from the tables; only the files the rule
 * cannot decide from their entries are read, by range), else from the layers read whole
 * with every regular file hashed on the way. The rule is the same either way, so is the
 * output.
 */
export async function openDiffSide(img: CliImage): Promise<DiffSide> {
  const indexed = await cliIndexedImage(img);
  if (indexed === undefined) {
    const built = await cliFilesystem(img, { contentDigests: true });
    return { fs: built.fs, knownDigest: (e) => built.contentDigest(e) };
  }
  const { lazy } = indexed;
  warnRefused(lazy.fs);
  const limit = pLimit(READ_CONCURRENCY);
  return {
    fs: lazy.fs,
    async hashFiles(entries, signal) {
      const digests = new Map<FsEntry, string>();
      await Promise.all(
        entries.map((e) =>
          limit(async () => {
            const hash = createHash('sha256');
            for await (const chunk of lazy.openFile(e.path, { signal: signal ?? img.ctx.signal })) {
              hash.update(chunk as Buffer);
            }
            digests.set(e, `sha256:${hash.digest('hex')}`);
          }),
        ),
      );
      return digests;
    },
  };
}
