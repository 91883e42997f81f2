import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { cacheStats, evictCached, listCachedImages } from '../../server/cache/cache-inventory.js';
import { readUsage, type UsageTimes, usageDocumentOf } from '../../server/cache/cache-usage.js';
import { openRegistryStorage } from '../../server/storage/open-storage.js';
import type { RegistryStorage } from '../../server/storage/registry-storage.js';
import { StoreStorage } from '../../server/storage/store-storage.js';
import { parseSize } from '../../util/parse-size.js';
import { contextFor } from '../context.js';
import { formatBytes, printJson, printLines, printTable, shortDigest } from '../format.js';
import { parseDuration } from '../parse-duration.js';

/**
 * The storage a cache keeps its content in (`--storage DIR|s3://BUCKET/PREFIX`, as given
 * to `serve`; default the `--store`), with its tag uses.
 */
async function withCache(
  cmd: Command,
  work: (cache: {
    ctx: Awaited<ReturnType<typeof contextFor>>;
    storage: RegistryStorage;
    usage: UsageTimes;
  }) => Promise<void>,
): Promise<void> {
  const ctx = await contextFor(cmd);
  const where = (cmd.opts() as { storage?: string }).storage;
  const storage: RegistryStorage = where
    ? await openRegistryStorage(where, { create: false })
    : await StoreStorage.open(ctx.options.store, { create: false });
  try {
    await work({ ctx, storage, usage: await readUsage(usageDocumentOf(storage)) });
  } finally {
    await storage.close?.();
  }
}

/** `--storage` of every `cache` subcommand. */
function withStorage(command: Command): Command {
  return command.option(
    '--storage <dir|s3://bucket/prefix>',
    'the storage of the cache (serve --storage; default: --store)',
  );
}

function when(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * `ocipeek cache ls|stats|evict`: what the pull-through cache (`serve --upstream`) keeps in
 * its storage (a store or S3), and trimming it.
 */
export function registerCache(program: Command): void {
  const cache = program
    .command('cache')
    .description(
      'list, count and evict what a pull-through cache (serve --upstream) stored in --storage or --store',
    );
  withStorage(cache.command('ls'))
    .description('cached images: repository, tag, digest, bytes, last pulled')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }, cmd: Command) =>
      withCache(cmd, async ({ ctx, storage, usage }) => {
        const images = await listCachedImages(storage, usage, ctx.signal);
        if (opts.json || ctx.options.json) {
          printJson(
            images.map(({ objects: _objects, ...image }) => ({
              ...image,
              lastUsed:
                image.lastUsed === undefined ? null : new Date(image.lastUsed).toISOString(),
            })),
          );
          return;
        }
        printTable([
          ['REPOSITORY', 'TAG', 'DIGEST', 'SIZE', 'LAST PULLED'],
          ...images.map((i) => [
            i.repository,
            i.tag,
            shortDigest(i.digest),
            formatBytes(i.bytes),
            when(i.lastUsed),
          ]),
        ]);
      }),
    );
  withStorage(cache.command('stats'))
    .description('totals: repositories, images, stored objects and bytes (shared ones once)')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }, cmd: Command) =>
      withCache(cmd, async ({ ctx, storage, usage }) => {
        const stats = cacheStats(await listCachedImages(storage, usage, ctx.signal));
        if (opts.json || ctx.options.json) {
          printJson(stats);
          return;
        }
        printLines(
          `${stats.repositories} repositories, ${stats.images} images, ${stats.objects} objects, ${formatBytes(stats.bytes)}`,
        );
      }),
    );
  withStorage(cache.command('evict [names...]'))
    .description(
      'evict images (REPO or REPO:TAG, unused ones, or least recently used past a size), then remove what nothing reaches',
    )
    .option(
      '--max-size <size>',
      'evict least recently pulled images until the cache fits (e.g. 20G)',
    )
    .option('--older-than <duration>', 'evict images not pulled for this long (e.g. 7d)')
    .option('--grace <duration>', 'keep content stored within this time (default 10m)', '10m')
    .option('--dry-run', 'say what would be evicted, remove nothing')
    .option('--json', 'print JSON')
    .action(
      async (
        names: string[],
        opts: {
          maxSize?: string;
          olderThan?: string;
          grace: string;
          dryRun?: boolean;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        if (names.length === 0 && opts.maxSize === undefined && opts.olderThan === undefined) {
          throw new InvalidArgumentError('cache evict needs names, --max-size or --older-than');
        }
        await withCache(cmd, async ({ ctx, storage, usage }) => {
          const result = await evictCached(storage, usage, {
            names,
            maxBytes: opts.maxSize === undefined ? undefined : parseSize(opts.maxSize),
            olderThanMs: opts.olderThan === undefined ? undefined : parseDuration(opts.olderThan),
            graceMs: parseDuration(opts.grace),
            dryRun: opts.dryRun,
            signal: ctx.signal,
          });
          if (opts.json || ctx.options.json) {
            printJson({
              evicted: result.evicted.map((i) => ({
                repository: i.repository,
                tag: i.tag,
                digest: i.digest,
                bytes: i.bytes,
              })),
              ...result.collected,
            });
            return;
          }
          const verb = opts.dryRun ? 'would evict' : 'evicted';
          printLines(
            ...result.evicted.map(
              (i) => `${verb} ${i.repository}:${i.tag} (${formatBytes(i.bytes)})`,
            ),
            `${result.evicted.length} image(s) ${verb}; ${result.collected.blobsRemoved} blob(s) removed, ${formatBytes(result.collected.bytesFreed)} freed`,
          );
        });
      },
    );
}
