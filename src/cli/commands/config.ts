import type { Command } from 'commander';
import { resolveImage } from '../../image/resolve-image.js';
import { parseReference } from '../../ref/index.js';
import { contextFor } from '../context.js';

/** `ocipeek config REF`: the image config blob as stored. */
export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('print the image config JSON exactly as stored (verified)')
    .argument('<ref>', 'image reference')
    .action(async (refArg: string, _opts: unknown, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const img = await resolveImage(ctx.client, parseReference(refArg), {
        platform: ctx.platform,
        signal: ctx.signal,
      });
      process.stdout.write(img.configBytes!);
      if (process.stdout.isTTY) process.stdout.write('\n');
    });
}
