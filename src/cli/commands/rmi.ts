import type { Command } from 'commander';
import { NotFoundError } from '../../errors/index.js';
import { refName, Store } from '../../store/index.js';
import { contextFor } from '../context.js';
import { printLines } from '../format.js';

/**
 * `ocipeek rmi REF...`: remove names from the local store, and the signature names that
 * went with them (blobs go with `prune`).
 */
export function registerRmi(program: Command): void {
  program
    .command('rmi')
    .description('remove images from the local store by name (run "ocipeek prune" to free space)')
    .argument('<refs...>', 'references as stored, e.g. 127.0.0.1:5000/app:1.0')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const store = await Store.open(ctx.options.store, { create: false });
      const missing: string[] = [];
      for (const ref of refs) {
        const [name, ...signatures] = await store.removeName(ref, { signal: ctx.signal });
        if (name === undefined) missing.push(refName(ref));
        else printLines(`untagged ${name}`, ...signatures.map((s) => `removed signature ${s}`));
      }
      if (missing.length > 0) {
        throw new NotFoundError(`not in the store ${store.dir}: ${missing.join(', ')}`);
      }
    });
}
