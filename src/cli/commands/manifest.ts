import type { Command } from 'commander';
import { resolveImage } from '../../image/resolve-image.js';
import { parseReference } from '../../ref/index.js';
import { contextFor } from '../context.js';

/** `ocipeek manifest REF`: the manifest bytes exactly as served. */
export function registerManifest(program: Command): void {
  program
    .command('manifest')
    .description(
      'print the manifest exactly as the registry serves it (--platform picks from an index)',
    )
    .argument('<ref>', 'image reference')
    .action(async (refArg: string, _opts: unknown, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const ref = parseReference(refArg);
      if (ctx.platform) {
        const img = await resolveImage(ctx.client, ref, {
          platform: ctx.platform,
          config: false,
          signal: ctx.signal,
        });
        process.stdout.write(img.image.bytes);
      } else {
        const m = await ctx.client.getManifest(ref, { signal: ctx.signal });
        process.stdout.write(m.bytes);
      }
    });
}
