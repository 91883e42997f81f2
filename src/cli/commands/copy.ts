import type { Command } from 'commander';
import { openSource } from '../../places/index.js';
import { parsePlace } from '../../source/index.js';
import { clientForSide, contextFor } from '../context.js';
import { type PlatformFlags, platformOptions, runCopy } from '../copy-runner.js';
import { parseCount } from '../parse-count.js';
import { isArchivePlace, storeTmpDir } from '../store-tmp.js';

/** skopeo's per-side credential flags. */
interface SideFlags {
  srcCreds?: string;
  destCreds?: string;
  srcAuthfile?: string;
  destAuthfile?: string;
}

/** `ocipeek copy SRC DST`: copy an image between registries, layouts, archives and the store. */
export function registerCopy(program: Command): void {
  program
    .command('copy')
    .description(
      'copy an image between places: REF (docker://), oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REF], store:REF',
    )
    .argument('<src>', 'where the image is')
    .argument('<dst>', 'where it goes')
    .option('--all-platforms', 'copy every platform of an index (digests preserved)')
    .option('--platforms <list>', 'keep these platforms (os/arch,…) in a rewritten index')
    .option('--concurrency <n>', 'blobs copied at once (default 4)', parseCount)
    .option('--chunk-size <bytes>', 'upload to registries in chunks of this many bytes', parseCount)
    .option('--src-creds <user:password>', 'credentials for the source registry')
    .option('--dest-creds <user:password>', 'credentials for the destination registry')
    .option('--src-authfile <file>', 'auth file for the source registry')
    .option('--dest-authfile <file>', 'auth file for the destination registry')
    .option('--json', 'print JSON')
    .action(
      async (
        src: string,
        dst: string,
        opts: PlatformFlags &
          SideFlags & { concurrency?: number; chunkSize?: number; json?: boolean },
        cmd: Command,
      ) => {
        // Both places are read before anything is opened: a mistake in DST is said at once.
        const [from, to] = [parsePlace(src), parsePlace(dst)];
        const ctx = await contextFor(cmd);
        const platform = platformOptions(ctx, opts);
        const srcClient = await clientForSide(
          ctx,
          { creds: opts.srcCreds, authfile: opts.srcAuthfile },
          'src',
        );
        const destClient = await clientForSide(
          ctx,
          { creds: opts.destCreds, authfile: opts.destAuthfile },
          'dest',
        );
        const common = { storeDir: ctx.options.store, signal: ctx.signal };
        // Archives on either side are staged in the store's temp folder (opened once).
        const tmpDir =
          isArchivePlace(src) || isArchivePlace(dst) ? await storeTmpDir(ctx) : undefined;
        const source = await openSource(from, { ...common, client: srcClient, tmpDir });
        await runCopy(ctx, source, to, {
          open: { chunkSize: opts.chunkSize, tmpDir, client: destClient },
          ...platform,
          concurrency: opts.concurrency,
          json: opts.json,
        });
      },
    );
}
