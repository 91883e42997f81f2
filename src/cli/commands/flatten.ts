import type { Command } from 'commander';
import { flattenImage } from '../../mutate/index.js';
import { runEdit } from '../edit-runner.js';
import { cliFilesystem, openCliImage } from '../image-source.js';

/** `ocipeek flatten REF -t DST`: the image as one layer (crane flatten). */
export function registerFlatten(program: Command): void {
  program
    .command('flatten')
    .description(
      'write IMAGE as a one-layer image of its merged filesystem to -t DST (crane flatten)',
    )
    .argument('<image>', 'image reference or place')
    .requiredOption('-t, --tag <dst>', 'where the new image goes (REF, oci:DIR:TAG, store:REF, …)')
    .option('--json', 'print JSON')
    .action(async (refArg: string, opts: { tag: string; json?: boolean }, cmd: Command) => {
      const img = await openCliImage(cmd, refArg);
      const built = await cliFilesystem(img, { efficiency: false });
      await runEdit(img, opts.tag, opts.json, (destination, tmpDir) =>
        flattenImage(img.image, built.fs, destination, { tmpDir, signal: img.ctx.signal }),
      );
    });
}
