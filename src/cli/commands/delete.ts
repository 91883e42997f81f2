import type { Command } from 'commander';
import { InvalidArgumentError, NotFoundError } from '../../errors/index.js';
import { parsePlace } from '../../source/index.js';
import { refName, Store } from '../../store/index.js';
import { contextFor } from '../context.js';
import { printJson, printLines } from '../format.js';

/**
 * `ocipeek delete REF`: delete an image from a registry (skopeo delete, crane delete) or
 * one tag of it (`--tag-only`, regctl tag rm), or a name from the store (`store:REF`).
 */
export function registerDelete(program: Command): void {
  program
    .command('delete')
    .description(
      'delete a manifest from its registry (a tag: the manifest it names, with all its tags), one tag (--tag-only), or a store name (store:REF)',
    )
    .argument('<ref>', 'REPO:TAG, REPO@DIGEST, docker://REF or store:REF')
    .option(
      '--tag-only',
      "remove only this tag; the manifest and its other tags stay (where the registry cannot delete tags, regctl's way: the tag is moved to a placeholder that is then deleted)",
    )
    .option('--json', 'print JSON')
    .action(async (refArg: string, opts: { tagOnly?: boolean; json?: boolean }, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const place = parsePlace(refArg);
      const json = opts.json || ctx.options.json;
      if (place.kind === 'store') {
        const store = await Store.open(ctx.options.store, { create: false });
        if (!(await store.untag(place.ref, { signal: ctx.signal }))) {
          throw new NotFoundError(`not in the store ${store.dir}: ${refName(place.ref)}`);
        }
        if (json) return printJson({ deleted: refName(place.ref), place: 'store' });
        return printLines(
          `deleted ${refName(place.ref)} from the store (run "ocipeek prune" to free space)`,
        );
      }
      if (place.kind !== 'registry') {
        throw new InvalidArgumentError(
          `delete works on registry references and store:REF, not ${place.kind}: places`,
        );
      }
      const { ref } = place;
      if (opts.tagOnly) {
        if (ref.digest || !ref.tag) {
          throw new InvalidArgumentError('--tag-only needs REPO:TAG (without a digest)');
        }
        const result = await ctx.client.deleteTag(ref, { signal: ctx.signal });
        if (json) return printJson({ deleted: ref.toString(), tagOnly: true, ...result });
        return printLines(`deleted tag ${ref}`);
      }
      // As skopeo delete: a tag is resolved, and the manifest it names is deleted by
      // digest, which removes every tag naming it (distribution deletes only by digest).
      const digest =
        ref.digest ?? (await ctx.client.headManifest(ref, { signal: ctx.signal })).digest;
      const target = ref.withDigest(digest);
      await ctx.client.deleteManifest(target, { signal: ctx.signal });
      if (json) return printJson({ deleted: `${ref.name}@${digest}`, digest });
      printLines(`deleted ${ref.name}@${digest}`);
    });
}
