import type { Command } from 'commander';
import { rebasing } from '../../mutate/index.js';
import { openCliImage } from '../cli-image.js';
import { runEdit } from '../edit-runner.js';

/** `ocipeek rebase REF --old-base A --new-base B -t DST` (crane rebase). */
export function registerRebase(program: Command): void {
  program
    .command('rebase')
    .description(
      'write IMAGE with its base layers (--old-base) replaced by --new-base to -t DST (crane rebase)',
    )
    .argument('<image>', 'image reference or place')
    .requiredOption('--old-base <image>', 'the base IMAGE was built on')
    .requiredOption('--new-base <image>', 'the base to put under its own layers')
    .requiredOption('-t, --tag <dst>', 'where the new image goes (REF, oci:DIR:TAG, store:REF, …)')
    .option('--json', 'print JSON')
    .action(
      async (
        refArg: string,
        opts: { oldBase: string; newBase: string; tag: string; json?: boolean },
        cmd: Command,
      ) => {
        // The bases are one platform's images: an index given as IMAGE needs --platform.
        await runEdit(
          cmd,
          refArg,
          opts.tag,
          opts.json,
          { verb: 'rebase', eachPlatform: false },
          async () => {
            const oldBase = await openCliImage(cmd, opts.oldBase);
            const newBase = await openCliImage(cmd, opts.newBase);
            return rebasing(oldBase.image, newBase.image);
          },
        );
      },
    );
}
