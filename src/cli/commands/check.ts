import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { checkImage } from '../../image/check-image.js';
import { Store } from '../../store/index.js';
import { contextFor } from '../context.js';
import { formatBytes, printJson, printLines } from '../format.js';
import { openCliSource } from '../image-source.js';
import { parseCount } from '../parse-count.js';

/**
 * `ocipeek check [PLACE]`: read and verify every blob of an image (crane validate), or of
 * the whole store (`--store`, the default without PLACE). Exit 1 when something is wrong.
 */
export function registerCheck(program: Command): void {
  program
    .command('check')
    .description(
      'verify every manifest and blob of an image (digests, sizes, layer diff_ids) or of the store; exit 1 on a problem',
    )
    .argument('[image]', 'image reference or place (oci:DIR[:TAG], store:REF, …); none: --store')
    .option('--store', 'check the whole store: names, missing blobs, every blob hashed')
    .option('--all-platforms', 'check every image of an index (default: the --platform one)')
    .option('--no-diff-ids', 'do not decompress layers to check them against the config')
    .option('--concurrency <n>', 'blobs checked at once (default 4)', parseCount)
    .option('--json', 'print JSON')
    .action(
      async (
        placeArg: string | undefined,
        opts: {
          store?: boolean;
          allPlatforms?: boolean;
          diffIds: boolean;
          concurrency?: number;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        const ctx = await contextFor(cmd);
        const json = opts.json || ctx.options.json;
        if (placeArg !== undefined && opts.store) {
          throw new InvalidArgumentError('give an image or --store, not both');
        }
        if (placeArg === undefined) {
          const store = await Store.open(ctx.options.store, { create: false });
          const problems = await store.validate({ signal: ctx.signal });
          if (json) printJson({ store: store.dir, problems });
          else {
            printLines(...problems.map((p) => `${p.kind}: ${p.message}`));
            printLines(
              `${store.dir}: ${problems.length === 0 ? 'ok' : `${problems.length} problem(s)`}`,
            );
          }
          if (problems.length > 0) process.exitCode = 1;
          return;
        }
        const source = await openCliSource(cmd, placeArg);
        const result = await checkImage(source, {
          allPlatforms: opts.allPlatforms,
          platform: ctx.platform,
          diffIds: opts.diffIds,
          concurrency: opts.concurrency,
          signal: ctx.signal,
        });
        if (json) printJson({ image: source.description, ...result });
        else {
          printLines(...result.problems.map((p) => `${p.kind}: ${p.message}`));
          const verdict =
            result.problems.length === 0 ? 'ok' : `${result.problems.length} problem(s)`;
          printLines(
            `${source.description}: ${verdict} (${result.manifests} manifest(s), ${result.blobs} blob(s), ${formatBytes(result.bytes)} read)`,
          );
        }
        if (result.problems.length > 0) process.exitCode = 1;
      },
    );
}
