import type { Command } from 'commander';
import { openSource } from '../../places/index.js';
import { contextFor } from '../context.js';
import { type PlatformFlags, platformOptions, runCopy } from '../copy-runner.js';
import { parseCount } from '../parse-count.js';
import { isArchivePlace, storeTmpDir } from '../store-tmp.js';

/** `ocipeek copy SRC DST`: copy an image between registries, layouts, archives and the store. */
export function registerCopy(program: Command): void {
  program
    .command('copy')
    .description(
      'copy an image between places: REF (docker://), oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REF], store:REF',
    )
    .argument('<src>', 'where the image is')
    .argument('<dst>', 'where it goes')
    .option('--all-platforms', 'copy every platform of an index (digests preserved)')
    .option('--platforms <list>', 'keep these platforms (os/arch,…) in a rewritten index')
    .option('--concurrency <n>', 'blobs copied at once (default 4)', parseCount)
    .option('--chunk-size <bytes>', 'upload to registries in chunks of this many bytes', parseCount)
    .option('--json', 'print JSON')
    .action(
      async (
        src: string,
        dst: string,
        opts: PlatformFlags & { concurrency?: number; chunkSize?: number; json?: boolean },
        cmd: Command,
      ) => {
        const ctx = await contextFor(cmd);
        const platform = platformOptions(ctx, opts);
        const common = { client: ctx.client, storeDir: ctx.options.store, signal: ctx.signal };
        // Archives on either side are staged in the store's temp folder (opened once).
        const tmpDir =
          isArchivePlace(src) || isArchivePlace(dst) ? await storeTmpDir(ctx) : undefined;
        const source = await openSource(src, { ...common, tmpDir });
        await runCopy(ctx, source, dst, {
          open: { chunkSize: opts.chunkSize, tmpDir },
          ...platform,
          concurrency: opts.concurrency,
          json: opts.json,
        });
      },
    );
}
