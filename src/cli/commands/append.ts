import type { Command } from 'commander';
import { appending } from '../../mutate/index.js';
import { runEdit } from '../edit-runner.js';
import { collect } from '../repeatable.js';

/** `ocipeek append REF -f TAR|DIR -t DST`: add layers on top of an image (crane append). */
export function registerAppend(program: Command): void {
  program
    .command('append')
    .description(
      'write IMAGE with new layers on top (from tar files or folders) to -t DST (crane append)',
    )
    .argument('<image>', 'base image reference or place')
    .requiredOption(
      '-f, --layer <path>',
      'a tar (plain, gzip or zstd) or a folder (repeatable)',
      collect,
    )
    .requiredOption('-t, --tag <dst>', 'where the new image goes (REF, oci:DIR:TAG, store:REF, …)')
    .option('--json', 'print JSON')
    .action(
      async (
        refArg: string,
        opts: { layer: string[]; tag: string; json?: boolean },
        cmd: Command,
      ) => {
        await runEdit(
          cmd,
          refArg,
          opts.tag,
          opts.json,
          { verb: 'append', eachPlatform: true },
          (ctx) => appending(opts.layer, { signal: ctx.signal }),
        );
      },
    );
}
