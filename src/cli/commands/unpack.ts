import type { Command } from 'commander';
import { unpackLayers } from '../../unpack/index.js';
import { printJson } from '../format.js';
import { openCliImage } from '../image-source.js';

/** `ocipeek unpack REF DIR`: extract the merged root filesystem safely. */
export function registerUnpack(program: Command): void {
  program
    .command('unpack')
    .description(
      'extract the merged root filesystem into DIR (new or empty), safely; each layer checked against its diff_id',
    )
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .argument('<dir>', 'destination folder (created; must be empty)')
    .option(
      '--rootless',
      'do not chown; record owners in DIR.ownership.json (default when not root)',
    )
    .option('--verify', 'refuse layers the config gives no diff_id for')
    .option('--json', 'print a JSON summary')
    .action(
      async (
        refArg: string,
        dir: string,
        opts: { rootless?: boolean; verify?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const img = await openCliImage(cmd, refArg);
        const result = await unpackLayers(img.image.layers, dir, {
          rootless: opts.rootless ?? process.getuid?.() !== 0,
          verify: opts.verify,
          signal: img.ctx.signal,
        });
        if (opts.json || img.ctx.options.json)
          return printJson({ name: img.image.name, dir, ...result });
        for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
        if (result.warningCount > result.warnings.length) {
          process.stderr.write(
            `warning: … and ${result.warningCount - result.warnings.length} more\n`,
          );
        }
        process.stderr.write(
          `unpacked ${result.layers} layers into ${dir}: ${result.files} files, ${result.dirs} dirs, ${result.symlinks} symlinks, ${result.hardlinks} hardlinks` +
            (result.ownershipFile ? ` (owners recorded in ${result.ownershipFile})` : '') +
            '\n',
        );
      },
    );
}
