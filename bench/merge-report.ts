import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CaseResult } from './cases/types.js';
import type { BenchReport } from './report.js';

/**
 * A `--only` run measures some cases; the report it writes keeps the other cases of the
 * last report of the same kind (full or `--quick`), each marked with the date it was
 * measured, so refreshing one case does not wipe the rest of docs/BENCHMARKS.md. Reports
 * of another format (older bench versions) are not merged.
 */
export async function mergeWithLastReport(
  repoRoot: string,
  report: BenchReport,
  caseOrder: readonly string[],
): Promise<BenchReport> {
  let last: BenchReport;
  try {
    last = JSON.parse(
      await readFile(path.join(repoRoot, 'bench', 'results', 'latest.json'), 'utf8'),
    ) as BenchReport;
  } catch {
    return report;
  }
  if (last.quick !== report.quick || last.format !== report.format) return report;
  const fresh = new Set(report.cases.map((c) => c.id));
  const kept: CaseResult[] = last.cases
    .filter((c) => !fresh.has(c.id))
    .map((c) => ({ ...c, measured: c.measured ?? last.date }));
  if (kept.length === 0) return report;
  const rank = (id: string) => {
    const i = caseOrder.indexOf(id);
    return i < 0 ? caseOrder.length : i;
  };
  const cases = [...report.cases, ...kept].sort((a, b) => rank(a.id) - rank(b.id));
  const dates = [...new Set(kept.map((c) => c.measured))].join(', ');
  return {
    ...report,
    cases,
    remarks: [
      ...report.remarks,
      `this run measured ${[...fresh].join(', ')}; ${kept.map((c) => c.id).join(', ')} are kept from the run of ${dates}`,
    ],
  };
}
