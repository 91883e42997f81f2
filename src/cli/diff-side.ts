import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import type { FsEntry, ImageFilesystem } from '../fs/index.js';
import { type CliImage, cliFilesystem, warnRefused } from './image-source.js';
import { cliIndexedImage } from './lazy-image.js';

/** Files hashed at once through a seek index (each a few range requests). */
const READ_CONCURRENCY = 4;

/** One image of `diff`: its merged view and the content digests the diff rule asks for. */
export interface DiffSide {
  fs: ImageFilesystem;
  /** Make the digests of `entries` known (reads them, through the index); once, before the diff. */
  prepare(entries: FsEntry[]): Promise<void>;
  digest(entry: FsEntry): string | undefined;
}

/**
 * A side of `diff`: through the seek index when it covers every layer (the view from the
 * tables, and only the files the diff rule cannot decide from their entries are read, by
 * range), else from the layers read whole with every regular file hashed on the way.
 * Either way the same rule decides (`contentVerdict` in fs/diff.ts), so the output is the
 * same.
 */
export async function openDiffSide(img: CliImage): Promise<DiffSide> {
  const indexed = await cliIndexedImage(img);
  if (indexed === undefined) {
    const built = await cliFilesystem(img, { contentDigests: true });
    return { fs: built.fs, prepare: async () => {}, digest: (e) => built.contentDigest(e) };
  }
  const { lazy } = indexed;
  warnRefused(lazy.fs);
  const digests = new Map<string, string>();
  const limit = pLimit(READ_CONCURRENCY);
  return {
    fs: lazy.fs,
    async prepare(entries) {
      await Promise.all(
        entries.map((e) =>
          limit(async () => {
            const hash = createHash('sha256');
            for await (const chunk of lazy.openFile(e.path, { signal: img.ctx.signal })) {
              hash.update(chunk as Buffer);
            }
            digests.set(e.path, `sha256:${hash.digest('hex')}`);
          }),
        ),
      );
    },
    digest: (e) => digests.get(e.path),
  };
}
