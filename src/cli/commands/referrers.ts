import type { Command } from 'commander';
import { parseReference } from '../../ref/index.js';
import { contextFor } from '../context.js';
import { printJson, printLines, table } from '../format.js';

/** `ocipeek referrers REF`: signatures, SBOMs and other artifacts that point at an image. */
export function registerReferrers(program: Command): void {
  program
    .command('referrers')
    .description('list the manifests that refer to REF (OCI 1.1 API, or the sha256-<hex> tag)')
    .argument('<ref>', 'image reference (a tag is resolved to its digest first)')
    .option('--artifact-type <type>', 'only referrers of this artifact type')
    .option('--json', 'print JSON')
    .action(
      async (refArg: string, opts: { artifactType?: string; json?: boolean }, cmd: Command) => {
        const ctx = await contextFor(cmd);
        let ref = parseReference(refArg);
        if (!ref.digest) {
          const head = await ctx.client.headManifest(ref, { signal: ctx.signal });
          ref = ref.withDigest(head.digest);
        }
        const result = await ctx.client.listReferrers(ref, {
          artifactType: opts.artifactType,
          signal: ctx.signal,
        });
        if (opts.json || ctx.options.json) {
          return printJson({
            subject: ref.toString(),
            source: result.source,
            manifests: result.manifests,
          });
        }
        if (result.manifests.length === 0) return;
        printLines(
          table([
            ['DIGEST', 'ARTIFACT TYPE', 'SIZE'],
            ...result.manifests.map((d) => [
              d.digest,
              d.artifactType ?? d.mediaType,
              String(d.size),
            ]),
          ]),
        );
      },
    );
}
