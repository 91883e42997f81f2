import type { Command } from 'commander';
import { type ArchiveFormat, openArchiveSource } from '../../archive/index.js';
import { InvalidArgumentError } from '../../errors/index.js';
import { parseReference } from '../../ref/index.js';
import { type Place, parsePlace } from '../../source/index.js';
import { contextFor } from '../context.js';
import { type PlatformFlags, platformOptions, runCopy } from '../copy-runner.js';
import { storeTmpDir } from '../store-tmp.js';

const FORMATS = ['auto', 'oci-archive', 'docker-archive'];

/** `ocipeek import FILE [REF]`: load an OCI or docker archive into the store. */
export function registerImport(program: Command): void {
  program
    .command('import')
    .description('load an oci-archive or docker-archive (docker save) file into the store')
    .argument('<file>', 'archive file (plain or gzip-compressed tar)')
    .argument('[ref]', 'name to store it under (default: the name the archive records)')
    .option('--format <format>', 'auto | oci-archive | docker-archive', 'auto')
    .option('--image <name>', 'which image of the archive: an OCI tag, a RepoTag or @N')
    .option('--to <place>', 'import somewhere else than the store (any place copy accepts)')
    .option('--all-platforms', 'every platform of an index (the default)')
    .option('--platforms <list>', 'keep these platforms (os/arch,…) in a rewritten index')
    .option('--json', 'print JSON')
    .action(
      async (
        file: string,
        refArg: string | undefined,
        opts: PlatformFlags & { format: string; image?: string; to?: string; json?: boolean },
        cmd: Command,
      ) => {
        const ctx = await contextFor(cmd);
        if (!FORMATS.includes(opts.format)) {
          throw new InvalidArgumentError(`--format must be one of ${FORMATS.join(', ')}`);
        }
        const platform = platformOptions(ctx, opts, true);
        const staging = await storeTmpDir(ctx);
        const source = await openArchiveSource(file, opts.image, {
          format: opts.format as ArchiveFormat | 'auto',
          signal: ctx.signal,
          tmpDir: staging,
        });
        let target: Place;
        try {
          if (opts.to) target = parsePlace(opts.to);
          else {
            const name = refArg ?? source.imageName;
            if (!name) {
              throw new InvalidArgumentError(
                `${file} records no image name; give one: ocipeek import ${file} NAME:TAG`,
              );
            }
            target = { kind: 'store', ref: parseReference(name) };
          }
        } catch (err) {
          await source.close();
          throw err;
        }
        await runCopy(ctx, source, target, {
          open: { imageName: refArg ?? source.imageName },
          ...platform,
          json: opts.json,
          verb: 'imported',
        });
      },
    );
}
