import type { Command } from 'commander';
import { resolveImage } from '../../image/resolve-image.js';
import { parseReference } from '../../ref/index.js';
import { contextFor } from '../context.js';
import { printJson, printLines } from '../format.js';

/** `ocipeek digest REF`: the digest a reference resolves to, as skopeo prints it. */
export function registerDigest(program: Command): void {
  program
    .command('digest')
    .description(
      "print the digest REF resolves to (an index's own, unless --platform picks a child)",
    )
    .argument('<ref>', 'image reference')
    .option('--json', 'print JSON')
    .action(async (refArg: string, opts: { json?: boolean }, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const ref = parseReference(refArg);
      let digest: string;
      if (ctx.platform) {
        const img = await resolveImage(ctx.client, ref, {
          platform: ctx.platform,
          config: false,
          signal: ctx.signal,
        });
        digest = img.image.digest;
      } else {
        digest = (await ctx.client.getManifest(ref, { signal: ctx.signal })).digest;
      }
      if (opts.json || ctx.options.json) printJson({ name: ref.toString(), digest });
      else printLines(digest);
    });
}
