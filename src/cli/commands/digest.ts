import type { Command } from 'commander';
import { resolveImage, sourceName } from '../../source/index.js';
import { contextFor } from '../context.js';
import { printJson, printLines } from '../format.js';
import { openCliSource } from '../image-source.js';

/** `ocipeek digest REF`: the digest a reference resolves to, as skopeo prints it. */
export function registerDigest(program: Command): void {
  program
    .command('digest')
    .description(
      "print the digest REF resolves to (an index's own, unless --platform picks a child)",
    )
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .option('--json', 'print JSON')
    .action(async (refArg: string, opts: { json?: boolean }, cmd: Command) => {
      const ctx = await contextFor(cmd);
      // Without --platform the root itself is printed: a stored index cut to some
      // platforms is not the registry's.
      const source = await openCliSource(cmd, refArg, { wholeIndex: !ctx.platform });
      let digest: string;
      if (ctx.platform) {
        const img = await resolveImage(source, {
          platform: ctx.platform,
          config: false,
          signal: ctx.signal,
        });
        digest = img.image.digest;
      } else {
        digest = (await source.root({ signal: ctx.signal })).digest;
      }
      if (opts.json || ctx.options.json) printJson({ name: sourceName(source), digest });
      else printLines(digest);
    });
}
