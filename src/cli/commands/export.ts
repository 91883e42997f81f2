import type { Command } from 'commander';
import {
  type ImageSource,
  openDestination,
  openSource,
  type Place,
  parsePlace,
} from '../../copy/index.js';
import { InvalidArgumentError } from '../../errors/index.js';
import { Store } from '../../store/index.js';
import { type CliContext, contextFor } from '../context.js';
import { type PlatformFlags, platformOptions, runCopy } from '../copy-runner.js';
import { storeTmpDir } from '../store-tmp.js';

const FORMATS = ['oci-archive', 'docker-archive'] as const;

/**
 * The place `export` reads: an explicit place as given; a bare reference from the store
 * when the store has it, else from its registry.
 */
async function exportSource(ctx: CliContext, refArg: string): Promise<ImageSource> {
  const place: Place = parsePlace(refArg);
  const common = { client: ctx.client, storeDir: ctx.options.store, signal: ctx.signal };
  if (place.kind === 'registry') {
    const store = await Store.open(ctx.options.store, { create: false }).catch(() => undefined);
    if (store && (await store.resolve(place.ref))) {
      return openSource({ kind: 'store', ref: place.ref }, common);
    }
  }
  return openSource(place, common);
}

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
        const source = await exportSource(ctx, refArg);
        const destination = await openDestination(`${opts.format}:${opts.output}`, {
          imageName: source.imageName,
          tmpDir: await storeTmpDir(ctx),
          signal: ctx.signal,
        }).catch(async (err: unknown) => {
          await source.close();
          throw err;
        });
        await runCopy(ctx, source, destination, { ...platform, json: opts.json, verb: 'exported' });
      },
    );
}
