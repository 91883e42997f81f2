import type { Command } from 'commander';
import { NotFoundError } from '../../errors/index.js';
import { Store } from '../../store/index.js';
import { contextFor } from '../context.js';
import { formatBytes, printJson, printLines, shortDigest, table } from '../format.js';

/** `ocipeek images`: what the local store holds. */
export function registerImages(program: Command): void {
  program
    .command('images')
    .description('list the images in the local store')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const ctx = await contextFor(cmd);
      // Listing never creates a store: a missing one simply holds no images.
      const store = await Store.open(ctx.options.store, { create: false }).catch((err) => {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      });
      const images = store ? await store.listImages({ signal: ctx.signal }) : [];
      if (opts.json || ctx.options.json) {
        printJson(
          images.map((i) => ({
            reference: i.reference,
            digest: i.digest,
            mediaType: i.mediaType,
            platform: i.platforms.join(','),
            platforms: i.platforms,
            size: i.size,
            created: i.created ?? null,
            complete: i.complete,
          })),
        );
        return;
      }
      if (images.length === 0) return;
      const rows = [['REFERENCE', 'DIGEST', 'PLATFORM', 'SIZE', 'CREATED']];
      for (const i of images) {
        rows.push([
          i.complete ? i.reference : `${i.reference} (incomplete)`,
          shortDigest(i.digest),
          i.platforms.join(',') || '-',
          formatBytes(i.size),
          i.created ?? '-',
        ]);
      }
      printLines(table(rows));
    });
}
