import type { Command } from 'commander';
import { serve } from '../../server/registry/index.js';
import { contextFor } from '../context.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `ocipeek serve`: a read-only registry over OCI image layouts. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve OCI image layouts read-only over the distribution API')
    .requiredOption('--root <dir>', 'an OCI layout, or a folder of layouts (repeatable)', collect)
    .option(
      '--listen <host:port>',
      'address to listen on (port 0 picks a free one)',
      '127.0.0.1:5000',
    )
    .option('--name <repo>', 'repository name for a --root that is itself a layout')
    .option('--quiet', 'no per-request log lines')
    .action(
      async (
        opts: { root: string[]; listen: string; name?: string; quiet?: boolean },
        cmd: Command,
      ) => {
        const ctx = await contextFor(cmd);
        await serve({
          root: opts.root,
          listen: opts.listen,
          name: opts.name,
          quiet: opts.quiet,
          signal: ctx.signal,
        });
      },
    );
}
