import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { contextFor } from '../context.js';
import { type PlatformFlags, platformOptions, runCopy } from '../copy-runner.js';
import { openCliSource } from '../image-source.js';
import { storeTmpDir } from '../store-tmp.js';

const FORMATS = ['oci-archive', 'docker-archive'] as const;

/** `ocipeek export REF -o FILE`: write an image as an OCI or docker archive. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write an image (from the store, else its registry) to an archive file')
    .argument('<ref>', 'image reference, or any place copy accepts')
    .requiredOption(
      '-o, --output <file>',
      'archive to write (a file is replaced only once complete; - is stdout)',
    )
    .option('--format <format>', 'oci-archive | docker-archive', 'oci-archive')
    .option('--all-platforms', 'every platform of an index (oci-archive only)')
    .option('--platforms <list>', 'keep these platforms (os/arch,…) in a rewritten index')
    .option('--json', 'print JSON')
    .action(
      async (
        refArg: string,
        opts: PlatformFlags & { output: string; format: string; json?: boolean },
        cmd: Command,
      ) => {
        const ctx = await contextFor(cmd);
        if (!FORMATS.includes(opts.format as (typeof FORMATS)[number])) {
          throw new InvalidArgumentError(`--format must be one of ${FORMATS.join(', ')}`);
        }
        const platform = platformOptions(ctx, opts);
        // A bare reference from the store when the store has it, else from its registry;
        // every layer is read, so a moved tag is pulled into the store as `ls` would.
        const source = await openCliSource(cmd, refArg, {
          refreshStore: true,
          wholeIndex: opts.allPlatforms,
        });
        await runCopy(ctx, source, `${opts.format}:${opts.output}`, {
          ...platform,
          json: opts.json,
          verb: 'exported',
          // Gathered in the store's temp folder: prune removes what a kill leaves.
          open: { tmpDir: await storeTmpDir(ctx) },
        });
      },
    );
}
