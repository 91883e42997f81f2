import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { LayoutSource, layoutReferrers } from '../../layout/index.js';
import type { Descriptor } from '../../media/index.js';
import { openSource } from '../../places/index.js';
import type { Reference } from '../../ref/index.js';
import { formatPlace, parsePlace } from '../../source/index.js';
import { type CliContext, contextFor } from '../context.js';
import { printJson, printLines, table } from '../format.js';

/** Referrers of a subject, as every place answers them. */
interface Listed {
  /** The subject, its digest included. */
  subject: string;
  /** `api`/`tag` (a registry), `layout` (the manifests of an OCI layout or the store). */
  source: 'api' | 'tag' | 'layout';
  manifests: Descriptor[];
}

/**
 * `ocipeek referrers REF`: signatures, SBOMs and other artifacts that point at an image:
 * a registry's (referrers API or tag fallback), or those an `oci:` layout or the store
 * holds (every manifest whose `subject` is the image).
 */
export function registerReferrers(program: Command): void {
  program
    .command('referrers')
    .description(
      'list the manifests that refer to REF (OCI 1.1 API, or the sha256-<hex> tag; in oci:DIR and store:REF, by their subject)',
    )
    .argument('<ref>', 'image reference, oci:DIR[:TAG] or store:REF (a tag is resolved first)')
    .option('--artifact-type <type>', 'only referrers of this artifact type')
    .option('--json', 'print JSON')
    .action(
      async (refArg: string, opts: { artifactType?: string; json?: boolean }, cmd: Command) => {
        const ctx = await contextFor(cmd);
        const place = parsePlace(refArg);
        let listed: Listed;
        if (place.kind === 'registry') {
          listed = await registryReferrers(ctx, place.ref, opts.artifactType);
        } else if (place.kind === 'oci' || place.kind === 'store') {
          const source = await openSource(place, {
            client: ctx.client,
            storeDir: ctx.options.store,
            signal: ctx.signal,
          });
          try {
            if (!(source instanceof LayoutSource)) throw new Error('a layout place opens a layout');
            const { digest } = await source.rootEntry({ signal: ctx.signal });
            const manifests = await layoutReferrers(source.layout, digest, {
              artifactType: opts.artifactType,
              signal: ctx.signal,
            });
            listed = { subject: `${formatPlace(place)}@${digest}`, source: 'layout', manifests };
          } finally {
            await source.close();
          }
        } else {
          throw new InvalidArgumentError(
            `referrers reads a registry, oci:DIR[:TAG] or store:REF, not ${place.kind}:`,
          );
        }
        if (opts.json || ctx.options.json) return printJson(listed);
        if (listed.manifests.length === 0) return;
        printLines(
          table([
            ['DIGEST', 'ARTIFACT TYPE', 'SIZE'],
            ...listed.manifests.map((d) => [
              d.digest,
              d.artifactType ?? d.mediaType,
              String(d.size),
            ]),
          ]),
        );
      },
    );
}

async function registryReferrers(
  ctx: CliContext,
  named: Reference,
  artifactType: string | undefined,
): Promise<Listed> {
  let ref = named;
  if (!ref.digest) {
    const head = await ctx.client.headManifest(ref, { signal: ctx.signal });
    ref = ref.withDigest(head.digest);
  }
  const result = await ctx.client.listReferrers(ref, { artifactType, signal: ctx.signal });
  return { subject: ref.toString(), source: result.source, manifests: result.manifests };
}
