import type { Command } from 'commander';
import { Store } from '../../store/index.js';
import { contextFor } from '../context.js';
import { formatBytes, printJson, printLines } from '../format.js';

/**
 * `ocipeek prune`: remove blobs no stored image uses (nor a running pull or import has
 * pinned), stale temp files and staging folders, and trim the listing cache.
 */
export function registerPrune(program: Command): void {
  program
    .command('prune')
    .description(
      'remove blobs no stored image references, stale temp files, and listing cache files of removed layers',
    )
    .option('--dry-run', 'report what would be removed, remove nothing')
    .option('--json', 'print JSON')
    .action(async (opts: { dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const store = await Store.open(ctx.options.store, { create: false });
      const result = await store.prune({ signal: ctx.signal, dryRun: opts.dryRun });
      if (opts.json || ctx.options.json) {
        printJson(result);
        return;
      }
      const verb = opts.dryRun ? 'would free' : 'freed';
      printLines(
        `${result.blobsRemoved} blob(s), ${result.tempFilesRemoved} temp file(s), ${result.cacheFilesRemoved} listing cache file(s) and ${result.signaturesRemoved} orphaned signature name(s) removed; ${verb} ${formatBytes(result.bytesFreed)}`,
      );
    });
}
