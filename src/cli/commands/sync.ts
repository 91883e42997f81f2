import type { Command } from 'commander';
import { syncImages } from '../../sync/index.js';
import { contextFor } from '../context.js';
import { printJson, printLines } from '../format.js';
import { parseCount } from '../parse-count.js';

/** `ocipeek sync SRC... DST`: copy repositories or images to a registry prefix (skopeo sync). */
export function registerSync(program: Command): void {
  program
    .command('sync')
    .description(
      'copy every tag of repositories (REPO) or single images (REPO:TAG) to the registry prefix DST (as skopeo sync)',
    )
    .argument(
      '<sources...>',
      'REPO (all its tags), REPO:TAG or REPO@DIGEST; the last argument is DST (HOST[/PATH], or oci:DIR: a layout per repository, DIR/NAME)',
    )
    .option('--all-platforms', 'copy every platform of an index (digests preserved)')
    .option('--include-referrers', 'also copy the artifacts that refer to each image')
    .option('--concurrency <n>', 'blobs copied at once (default 4)', parseCount)
    .option('--json', 'print JSON')
    .action(
      async (
        args: string[],
        opts: {
          allPlatforms?: boolean;
          includeReferrers?: boolean;
          concurrency?: number;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        const ctx = await contextFor(cmd);
        if (args.length < 2) cmd.error('error: missing destination: ocipeek sync SRC... DST');
        const destination = args.at(-1)!;
        const json = opts.json || ctx.options.json;
        const synced = await syncImages(args.slice(0, -1), destination, {
          client: ctx.client,
          allPlatforms: opts.allPlatforms,
          platform: ctx.platform,
          includeReferrers: opts.includeReferrers,
          concurrency: opts.concurrency,
          signal: ctx.signal,
          onImage: json
            ? undefined
            : (s) =>
                printLines(
                  `${s.source} -> ${s.destination} ${s.digest}${s.referrers ? ` (+${s.referrers} referrers)` : ''}`,
                ),
        });
        if (json)
          printJson(synced.map(({ result: _r, ...rest }) => ({ ...rest, blobs: _r.blobs })));
        else printLines(`${synced.length} image(s) synced`);
      },
    );
}
