import type { Command } from 'commander';
import { flattening } from '../../mutate/index.js';
import { cliFilesystem, listingCache } from '../cli-image.js';
import { runEdit } from '../edit-runner.js';
import { existingStore } from '../image-source.js';

/** `ocipeek flatten REF -t DST`: the image (each of an index) as one layer (crane flatten). */
export function registerFlatten(program: Command): void {
  program
    .command('flatten')
    .description(
      'write IMAGE as a one-layer image of its merged filesystem to -t DST (crane flatten)',
    )
    .argument('<image>', 'image reference or place')
    .requiredOption('-t, --tag <dst>', 'where the new image goes (REF, oci:DIR:TAG, store:REF, …)')
    .option('--json', 'print JSON')
    .action(async (refArg: string, opts: { tag: string; json?: boolean }, cmd: Command) => {
      await runEdit(
        cmd,
        refArg,
        opts.tag,
        opts.json,
        { verb: 'flatten', eachPlatform: true },
        async (ctx) => {
          const around = { ctx, store: await existingStore(ctx), cache: listingCache(ctx) };
          return flattening(
            async (image) => (await cliFilesystem({ ...around, image }, { efficiency: false })).fs,
            { signal: ctx.signal },
          );
        },
      );
    });
}
