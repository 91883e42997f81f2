import type { Command } from 'commander';
import { parseRepository } from '../../ref/index.js';
import { contextFor } from '../context.js';
import { printJson, printList } from '../format.js';
import { parseCount } from '../parse-count.js';

/** `ocipeek tags REPO`: a repository's tags, every page. */
export function registerTags(program: Command): void {
  program
    .command('tags')
    .description('list the tags of a repository (all pages)')
    .argument('<repo>', 'repository, e.g. 127.0.0.1:5000/team/app')
    .option('--limit <n>', 'list at most N tags', parseCount)
    .option('--last <tag>', 'start after this tag')
    .option('--page-size <n>', 'tags per request (n)', parseCount)
    .option('--json', 'print JSON')
    .action(
      async (
        repoArg: string,
        opts: { limit?: number; last?: string; pageSize?: number; json?: boolean },
        cmd: Command,
      ) => {
        const ctx = await contextFor(cmd);
        const repo = parseRepository(repoArg);
        const tags = await ctx.client.listTags(repo, {
          limit: opts.limit,
          last: opts.last,
          pageSize: opts.pageSize,
          signal: ctx.signal,
        });
        if (opts.json || ctx.options.json) printJson({ repository: repo.name, tags });
        else if (tags.length) printList(tags);
      },
    );
}
