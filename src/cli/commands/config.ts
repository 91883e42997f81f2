import type { Command } from 'commander';
import { resolveImage } from '../../source/index.js';
import { contextFor } from '../context.js';
import { openCliSource } from '../image-source.js';

/** `ocipeek config REF`: the image config blob as stored. */
export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('print the image config JSON exactly as stored (verified)')
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .action(async (refArg: string, _opts: unknown, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const img = await resolveImage(await openCliSource(cmd, refArg), {
        platform: ctx.platform,
        signal: ctx.signal,
      });
      process.stdout.write(img.configBytes!);
      if (process.stdout.isTTY) process.stdout.write('\n');
    });
}
