import { canMeasureRss } from '../measure.js';
import { type BenchCase, type Row, Skip } from './types.js';

/** The target, in MB (10^6 bytes). */
const LIMIT_MB = 200;

/**
 * Peak RSS of ocipeek pulling and listing the big image, taken from the `pull-big` and
 * `list` cases' measured runs (no extra runs).
 */
export const peakRss: BenchCase = {
  id: 'rss',
  title: 'peak RSS, pulling and listing the big layer',
  peer: '—',
  target: `≤ ${LIMIT_MB} MB`,
  async run(ctx) {
    if (!canMeasureRss()) throw new Skip('GNU time (/usr/bin/time) missing: apt-get install time');
    const big = ctx.corpus.big.name;
    const rows: Row[] = [];
    const sources = [
      { id: 'pull-big', what: 'pull' },
      { id: 'list', what: 'ls -R -l' },
    ];
    for (const s of sources) {
      const result = ctx.done.find((r) => r.id === s.id);
      const row = result?.rows.find((r) => r.label.startsWith(big) && r.ocipeek);
      const rss = row?.ocipeek?.peakRssMB;
      if (rss === undefined) {
        rows.push({
          label: `${s.what} ${big}`,
          notes: [`not measured: case ${s.id} ${result?.status ?? 'not run'}`],
        });
        continue;
      }
      rows.push({
        label: `${s.what} ${big}`,
        ocipeek: row!.ocipeek,
        peer: row!.peer,
        target: `≤ ${LIMIT_MB} MB`,
        met: rss <= LIMIT_MB,
        notes: [
          `ocipeek peak RSS ${rss.toFixed(0)} MB; ${row!.peer?.name} ${row!.peer?.peakRssMB?.toFixed(0) ?? '?'} MB`,
        ],
      });
    }
    if (rows.every((r) => r.met === undefined)) throw new Skip(rows.map((r) => r.notes).join('; '));
    return rows;
  },
};
