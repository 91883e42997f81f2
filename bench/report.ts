import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CaseResult, Row, Side } from './cases/types.js';
import type { Corpus } from './corpus/index.js';
import type { MachineInfo } from './machine.js';

/** Everything one bench run found, as written to `bench/results/*.json`. */
export interface BenchReport {
  date: string;
  quick: boolean;
  warmup: number;
  runs: number;
  machine: MachineInfo;
  versions: Record<string, string>;
  corpus: {
    synthetic: boolean;
    rootfsSource: string;
    images: {
      name: string;
      description: string;
      layers: { digest: string; size: number; mediaType: string }[];
    }[];
  };
  /** Anything the reader must know about this run (machine busy, cases skipped...). */
  remarks: string[];
  cases: CaseResult[];
}

/** The report's view of the corpus. */
export function corpusSummary(corpus: Corpus, names: string[]): BenchReport['corpus'] {
  return {
    synthetic: corpus.synthetic,
    rootfsSource: corpus.rootfsSource,
    images: names.map((n) => {
      const img = corpus.images[n]!;
      return {
        name: img.name,
        description: img.description,
        layers: img.layers.map(({ digest, size, mediaType }) => ({ digest, size, mediaType })),
      };
    }),
  };
}

const s = (v?: number) => (v === undefined ? '—' : `${v.toFixed(3)} s`);
const mb = (v?: number) => (v === undefined ? '—' : `${(v / 1e6).toFixed(1)} MB`);
const rss = (v?: number) => (v === undefined ? '—' : `${v.toFixed(0)} MB`);
const verdict = (r: Row) => (r.met === undefined ? '—' : r.met ? '**met**' : '**MISSED**');

function spread(side?: Side): string {
  if (!side) return '—';
  return `${s(side.medianS)} (${side.minS.toFixed(2)}–${side.maxS.toFixed(2)}, n=${side.runs})`;
}

function figuresTable(c: CaseResult): string[] {
  const keys = [...new Set(c.rows.flatMap((r) => Object.keys(r.figures ?? {})))];
  const lines = [`| row | ${keys.join(' | ')} |`, `|---|${keys.map(() => '---|').join('')}`];
  for (const r of c.rows) {
    lines.push(`| ${r.label} | ${keys.map((k) => r.figures?.[k] ?? '—').join(' | ')} |`);
  }
  return lines;
}

function caseTable(c: CaseResult): string[] {
  if (c.rows.length > 0 && c.rows.every((r) => r.figures && !r.ocipeek)) {
    const notes = c.rows.flatMap((r) => r.notes.map((n) => `- ${r.label}: ${n}`));
    return [...figuresTable(c), ...(notes.length ? ['', ...notes] : [])];
  }
  const lines = [
    '| row | ocipeek median (min–max) | peer | peer median (min–max) | ratio | target | verdict | RSS ocipeek / peer | bytes fetched ocipeek / peer |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of c.rows) {
    lines.push(
      `| ${[
        r.label,
        spread(r.ocipeek),
        r.peer?.name ?? '—',
        spread(r.peer),
        r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`,
        r.target ?? '—',
        verdict(r),
        `${rss(r.ocipeek?.peakRssMB)} / ${rss(r.peer?.peakRssMB)}`,
        `${mb(r.ocipeek?.bytesFetched)} / ${mb(r.peer?.bytesFetched)}`,
      ].join(' | ')} |`,
    );
  }
  const notes = c.rows.flatMap((r) => r.notes.map((n) => `- ${r.label}: ${n}`));
  return notes.length ? [...lines, '', ...notes] : lines;
}

/** The Markdown report (docs/BENCHMARKS.md). */
export function toMarkdown(rep: BenchReport): string {
  const m = rep.machine;
  const out: string[] = [
    '# Benchmarks',
    '',
    'ocipeek measured side by side with the tools users would otherwise pick, in the same run',
    'on the same machine, against the Debian `docker-registry` on loopback. Regenerate with',
    '`npm run bench` (full) or `npm run bench -- --quick` (a few minutes); the corpus is',
    'built once into `.cache/bench/` (or `$OCIPEEK_BENCH_CACHE`). Raw figures:',
    '`bench/results/latest.json`. What each case measures: `bench/README.md`.',
    '',
    `- date: ${rep.date}${rep.quick ? ' (**--quick** run: fewer runs, smaller big layer)' : ''}`,
    `- runs: ${rep.warmup} warm-up + ${rep.runs} measured per contender, contenders alternating`,
    `- machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, kernel ${m.kernel}, ${m.os}`,
    `- disk: ${m.disk} as the kernel reports it; load average at start ${m.loadAverage.join(' ')}`,
    `- versions: ${Object.entries(rep.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}`,
    `- base root filesystem: ${rep.corpus.synthetic ? '**SYNTHETIC** — ' : ''}${rep.corpus.rootfsSource}`,
  ];
  for (const r of rep.remarks) out.push(`- **note:** ${r}`);
  out.push(
    '',
    '## Corpus',
    '',
    '| image | what | layers (compressed bytes, media type) |',
    '|---|---|---|',
  );
  for (const img of rep.corpus.images) {
    const layers = img.layers
      .map((l) => `${l.size} (${l.mediaType.replace('application/vnd.oci.image.layer.v1.', '')})`)
      .join(', ');
    out.push(`| ${img.name} | ${img.description} | ${layers} |`);
  }
  out.push(
    '',
    '## Summary',
    '',
    '| case | row | ratio | target | verdict |',
    '|---|---|---|---|---|',
  );
  for (const c of rep.cases) {
    if (c.status !== 'ok') {
      const why = (c.reason ?? '').split('\n')[0]!.slice(0, 160).replace(/\|/g, '/');
      out.push(`| ${c.title} | — | — | ${c.target} | ${c.status}: ${why} |`);
      continue;
    }
    if (c.rows.some((r) => r.figures && !r.ocipeek)) {
      out.push(`| ${c.title} | ${c.rows.length} rows (see below) | — | ${c.target} | reported |`);
    }
    for (const r of c.rows) {
      if (r.figures && !r.ocipeek) continue;
      const ratio = r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}× ${r.peer?.name ?? ''}`;
      out.push(`| ${c.title} | ${r.label} | ${ratio} | ${r.target ?? '—'} | ${verdict(r)} |`);
    }
  }
  const missed = rep.cases.flatMap((c) =>
    c.rows.filter((r) => r.met === false).map((r) => `${c.title} — ${r.label}`),
  );
  out.push('', '## Targets missed', '');
  out.push(...(missed.length ? missed.map((x) => `- ${x}`) : ['- none in this run']));
  for (const c of rep.cases) {
    out.push('', `## ${c.title}`, '', `Peer: ${c.peer}. Target: ${c.target}.`, '');
    if (c.measured)
      out.push(`Measured in the run of ${c.measured} (kept by a \`--only\` run).`, '');
    if (c.status !== 'ok')
      out.push(`**${c.status === 'skipped' ? 'Skipped' : 'Failed'}:** ${c.reason}`);
    else out.push(...caseTable(c));
  }
  return `${out.join('\n')}\n`;
}

/**
 * `bench/ANALYSIS.md`, kept by hand: what profiles say about the missed targets and what
 * was tried. Appended to every report so the figures and their explanation stay together.
 */
async function analysis(repoRoot: string): Promise<string> {
  try {
    return `\n${await readFile(path.join(repoRoot, 'bench', 'ANALYSIS.md'), 'utf8')}`;
  } catch {
    return '';
  }
}

/** Write `bench/results/DATE.json`, `latest.json` and `docs/BENCHMARKS.md`. */
export async function writeReport(repoRoot: string, rep: BenchReport): Promise<string[]> {
  const dir = path.join(repoRoot, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const stamp = rep.date.replace(/[:]/g, '-').replace(/\..*$/, '');
  const json = `${JSON.stringify(rep, null, 2)}\n`;
  const files = [
    path.join(dir, `${stamp}${rep.quick ? '-quick' : ''}.json`),
    path.join(dir, 'latest.json'),
    path.join(repoRoot, 'docs', 'BENCHMARKS.md'),
  ];
  await writeFile(files[0]!, json);
  await writeFile(files[1]!, json);
  await writeFile(files[2]!, toMarkdown(rep) + (await analysis(repoRoot)));
  // bench/** is linted: give the JSON the project's formatting (best effort).
  const biome = path.join(repoRoot, 'node_modules', '.bin', 'biome');
  spawnSync(biome, ['format', '--write', files[0]!, files[1]!], {
    stdio: 'ignore',
    timeout: 60_000,
  });
  return files;
}
