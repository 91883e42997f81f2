import { canMeasureRss } from '../measure.js';
import type { BenchCase, CaseResult, Row } from './types.js';
import { Skip } from './types.js';

/** Peak RSS targets in MB (10^6 bytes), by what ocipeek did. */
const LIMITS = [
  { what: 'pull', cases: ['pull-small', 'pull-shared', 'pull-big', 'js-peer'], mb: 64 },
  { what: 'unpack', cases: ['unpack'], mb: 128 },
  { what: 'ls -R -l', cases: ['list'], mb: 200, only: 'big' },
  // The client's process tree: the Python client and the proxy it started.
  { what: 'image proxy', cases: ['proxy'], mb: 200 },
] as const;

/**
 * Peak RSS of ocipeek (GNU time's maximum resident set size of the process) in every row of
 * the cases named in {@link LIMITS}, taken from their measured runs (no runs of its own):
 * one row per source row and variant, judged against the limit.
 */
export const peakRss: BenchCase = {
  id: 'rss',
  title: 'peak RSS: any pull, unpack, listing the big layer',
  peer: '—',
  target: LIMITS.map((l) => `${l.what} ≤ ${l.mb} MB`).join('; '),
  variants: [],
  needs: [],
  derived: true,
  async run(ctx) {
    if (!canMeasureRss()) throw new Skip('GNU time (/usr/bin/time) missing: apt-get install time');
    const rows: Row[] = [];
    for (const limit of LIMITS) {
      for (const id of limit.cases) {
        const result: CaseResult | undefined = ctx.done.find((r) => r.id === id);
        for (const source of result?.rows ?? []) {
          const mine = source.ocipeek;
          if (!mine || mine.peakRssMB === undefined) continue;
          if ('only' in limit && !source.label.startsWith(ctx.corpus.big?.name ?? '-')) continue;
          // A case with several peers has one row per peer for the same ocipeek runs.
          const label = `${limit.what}: ${source.label} (${id})`;
          if (rows.some((r) => r.label === label && r.variant === source.variant)) continue;
          rows.push({
            label,
            variant: source.variant,
            ocipeek: mine,
            peer: source.peer,
            amount: { value: mine.peakRssMB, unit: 'MB' },
            target: `≤ ${limit.mb} MB`,
            met: mine.peakRssMB <= limit.mb,
            notes: [],
          });
        }
      }
    }
    if (rows.length === 0) throw new Skip('none of the cases it reads ran');
    return rows;
  },
};
