import type { Command } from 'commander';
import { Store } from '../../store/index.js';
import { contextFor } from '../context.js';
import { formatBytes, printJson, printLines } from '../format.js';

/** `ocipeek prune`: remove blobs no stored image uses, and stale temp files. */
export function registerPrune(program: Command): void {
  program
    .command('prune')
    .description('remove blobs no stored image references and stale temp files')
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
        `${result.blobsRemoved} blob(s) and ${result.tempFilesRemoved} temp file(s) removed; ${verb} ${formatBytes(result.bytesFreed)}`,
      );
    });
}
