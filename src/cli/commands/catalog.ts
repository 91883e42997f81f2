import type { Command } from 'commander';
import { contextFor } from '../context.js';
import { printJson, printList } from '../format.js';
import { parseCount } from '../parse-count.js';

/** `ocipeek catalog HOST`: the repositories a registry has. */
export function registerCatalog(program: Command): void {
  program
    .command('catalog')
    .description('list the repositories of a registry (all pages)')
    .argument('<host>', 'registry host[:port]')
    .option('--limit <n>', 'list at most N repositories', parseCount)
    .option('--last <repo>', 'start after this repository')
    .option('--page-size <n>', 'repositories per request (n)', parseCount)
    .option('--json', 'print JSON')
    .action(
      async (
        host: string,
        opts: { limit?: number; last?: string; pageSize?: number; json?: boolean },
        cmd: Command,
      ) => {
        const ctx = await contextFor(cmd);
        const registry = host.replace(/^(docker|https?):\/\//, '').replace(/\/+$/, '');
        const repos = await ctx.client.listCatalog(registry, {
          limit: opts.limit,
          last: opts.last,
          pageSize: opts.pageSize,
          signal: ctx.signal,
        });
        if (opts.json || ctx.options.json) printJson({ registry, repositories: repos });
        else if (repos.length) printList(repos);
      },
    );
}
