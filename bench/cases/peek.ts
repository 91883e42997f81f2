import { runOnce } from '../measure.js';
import { hasCommand, ocipeek, statsOf } from '../ocipeek.js';
import { ALL_VARIANTS } from '../variants.js';
import { freshDir } from './compare.js';
import { type BenchCase, bigOf, type Row, refOf, Skip } from './types.js';

const BUDGET = 256 * 1024;

/** The part of `ocipeek peek --json` the bench reads. */
interface PeekJson {
  bytesFetched: number;
  layers: {
    index: number;
    digest: string;
    size: number;
    bytesFetched: number;
    complete: boolean;
    entries: unknown[];
    rangeIgnored?: boolean;
  }[];
}

/**
 * Peek at the first 256 KiB of every layer of each image: entries found per KiB fetched.
 * A count, not a race: one run per image, with a fresh store so nothing is local.
 */
export const peekLayer: BenchCase = {
  id: 'peek',
  title: 'peek 256 KiB of a layer',
  peer: '—',
  target: 'files found per KiB fetched reported',
  // A count, not a race: one variant is enough.
  variants: ALL_VARIANTS.filter((v) => v.medium === 'disk' && v.env === 'user'),
  needs: ['debian', 'app', 'big', 'debian-zstd'],
  async run(ctx) {
    if (!hasCommand('peek')) throw new Skip('`ocipeek peek` not available yet');
    const rows: Row[] = [];
    for (const name of ['debian', 'app', bigOf(ctx).name, 'debian-zstd']) {
      const store = freshDir(ctx.dir, 'store-peek');
      const args = ['--store', store.dir, 'peek', refOf(ctx, name), '--bytes', String(BUDGET)];
      const r = await runOnce(
        ocipeek(ctx, [...args, '--json'], { timeoutMs: 120_000 }),
        ctx.variant.env,
      );
      await store.remove();
      if (r.code !== 0) throw new Error(`ocipeek ${args.slice(2).join(' ')}: ${r.stderr.trim()}`);
      const json = JSON.parse(r.stdout) as PeekJson;
      const total = statsOf(r)?.bytesFetched ?? json.bytesFetched;
      ctx.log(`    ${name}: ${(r.ms / 1000).toFixed(3)} s, ${total} bytes fetched in all`);
      for (const l of json.layers) {
        const perKiB = l.bytesFetched > 0 ? l.entries.length / (l.bytesFetched / 1024) : 0;
        rows.push({
          label: `${name} layer ${l.index}`,
          figures: {
            'layer bytes': l.size,
            'bytes fetched': l.bytesFetched,
            entries: l.entries.length,
            'entries per KiB fetched': Number(perKiB.toFixed(2)),
            listing: l.complete ? 'complete' : 'incomplete',
            'run (s)': Number((r.ms / 1000).toFixed(2)),
          },
          notes: l.rangeIgnored ? ['the registry ignored Range'] : [],
        });
      }
    }
    return rows;
  },
};
