import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { buildFilesystem, openImageFile } from '../../image/index.js';
import { unescapeName } from '../../tar/name-codec.js';
import { openCliImage } from '../cli-image.js';
import { openCliLazyFile } from '../lazy-image.js';

/** `ocipeek cat REF PATH`: stream one file's bytes, following symlinks. */
export function registerCat(program: Command): void {
  program
    .command('cat')
    .description(
      'print the bytes of a file in the image (follows symlinks; reads only the layers it must)',
    )
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .argument('<path>', 'file inside the image')
    .action(async (refArg: string, pathArg: string, _opts: unknown, cmd: Command) => {
      const path = unescapeName(pathArg);
      const img = await openCliImage(cmd, refArg);
      // eStargz / zstd:chunked images: TOCs from the top down, then only the file's chunks.
      const lazy = await openCliLazyFile(img, path);
      if (lazy) return pipeline(lazy, process.stdout);
      // With every layer's listing cached, the index says which single layer holds the
      // file; otherwise layers are read from the top down (cached listings standing in for
      // reads) and the search stops at the first layer that decides the path.
      const cached = await Promise.all(
        img.image.layers.map((l) => img.cache.has(l.descriptor.digest)),
      );
      const fs = cached.every(Boolean)
        ? (await buildFilesystem(img.image, { cache: img.cache, signal: img.ctx.signal })).fs
        : undefined;
      const stream = await openImageFile(img.image, path, {
        fs,
        cache: img.cache,
        signal: img.ctx.signal,
      });
      await pipeline(stream, process.stdout);
    });
}
