import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CaseResult, Row, Side } from './cases/types.js';
import type { Corpus } from './corpus/index.js';
import type { MachineInfo } from './machine.js';
import { ALL_VARIANTS, variantId } from './variants.js';

/** Bumped when the report's shape changes (a `--only` run merges only the same format). */
export const REPORT_FORMAT = 2;

/** Everything one bench run found, as written to `bench/results/*.json`. */
export interface BenchReport {
  format: number;
  date: string;
  quick: boolean;
  warmup: number;
  runs: number;
  machine: MachineInfo;
  /** The `NODE_*` variables of the environment the bench started in (the `user` variants). */
  userEnv: Record<string, string>;
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

/** Text for a table cell: a `|` would end the cell. */
const esc = (text: string) => text.replace(/\|/g, '\\|');
const s = (v?: number) => (v === undefined ? '—' : `${v.toFixed(3)} s`);
function mb(v?: number): string {
  if (v === undefined) return '—';
  return v < 100_000 ? `${(v / 1e3).toFixed(1)} kB` : `${(v / 1e6).toFixed(1)} MB`;
}
const rss = (v?: number) => (v === undefined ? '—' : `${v.toFixed(0)} MB`);
const verdict = (r: Row) => (r.met === undefined ? '—' : r.met ? '**met**' : '**MISSED**');

function spread(side?: Side): string {
  if (!side) return '—';
  return `${s(side.medianS)} (${side.minS.toFixed(2)}–${side.maxS.toFixed(2)}, n=${side.runs})`;
}

/** A row's figure in the summary: its amount and/or ratio, marked when missed. */
function cell(r: Row): string {
  const ratio = r.ratio === undefined ? undefined : `${r.ratio.toFixed(2)}×`;
  const amount = r.amount && `${r.amount.value.toFixed(0)} ${r.amount.unit}`;
  const text = amount && ratio ? `${amount} (${ratio})` : (amount ?? ratio ?? '—');
  return r.met === false ? `${text} ✗` : text;
}

/** Rows of one case grouped by what they compare (label and peer), variants side by side. */
function groups(c: CaseResult): { label: string; peer?: string; rows: Row[] }[] {
  const out: { label: string; peer?: string; rows: Row[] }[] = [];
  for (const r of c.rows) {
    const g = out.find((x) => x.label === r.label && x.peer === r.peer?.name);
    if (g) g.rows.push(r);
    else out.push({ label: r.label, peer: r.peer?.name, rows: [r] });
  }
  return out;
}

/** The variants that appear anywhere in the report, in the usual order. */
function columns(rep: BenchReport): string[] {
  const seen = new Set(rep.cases.flatMap((c) => c.rows.map((r) => r.variant)));
  return ALL_VARIANTS.map(variantId).filter((id) => seen.has(id));
}

function summary(rep: BenchReport): string[] {
  const cols = columns(rep);
  const out = [
    `| case | row | target | ${cols.join(' | ')} | verdict |`,
    `|---|---|---|${cols.map(() => '---|').join('')}---|`,
  ];
  for (const c of rep.cases) {
    if (c.status !== 'ok') {
      const why = (c.reason ?? '').split('\n')[0]!.slice(0, 160).replace(/\|/g, '/');
      out.push(
        `| ${c.title} | — | ${c.target} | ${cols.map(() => '—').join(' | ')} | ${c.status}: ${why} |`,
      );
      continue;
    }
    if (c.rows.some((r) => r.figures && !r.ocipeek)) {
      const n = c.rows.length;
      out.push(
        `| ${c.title} | ${n} rows (below) | ${c.target} | ${cols.map(() => '').join(' | ')} | reported |`,
      );
      continue;
    }
    for (const g of groups(c)) {
      const cells = cols.map((id) => {
        const r = g.rows.find((x) => x.variant === id);
        return r ? cell(r) : '—';
      });
      const judged = g.rows.filter((r) => r.met !== undefined);
      const missed = judged.filter((r) => r.met === false).map((r) => r.variant);
      const v =
        judged.length === 0
          ? 'reported'
          : missed.length
            ? `**MISSED** (${missed.join(', ')})`
            : '**met**';
      // Races name their peer; single figures (peak RSS) stand alone.
      const race = g.peer && g.rows.some((r) => r.ratio !== undefined);
      const row = esc(race ? `${g.label} vs ${g.peer}` : g.label);
      out.push(
        `| ${c.title} | ${row} | ${g.rows[0]!.target ?? '—'} | ${cells.join(' | ')} | ${v} |`,
      );
    }
  }
  return out;
}

function figuresTable(c: CaseResult): string[] {
  const keys = [...new Set(c.rows.flatMap((r) => Object.keys(r.figures ?? {})))];
  const lines = [
    `| row | variant | ${keys.join(' | ')} |`,
    `|---|---|${keys.map(() => '---|').join('')}`,
  ];
  for (const r of c.rows) {
    lines.push(
      `| ${r.label} | ${r.variant ?? '—'} | ${keys.map((k) => r.figures?.[k] ?? '—').join(' | ')} |`,
    );
  }
  return lines;
}

function caseTable(c: CaseResult): string[] {
  const notes = c.rows.flatMap((r) =>
    r.notes.map((n) => `- ${r.label}${r.variant ? ` [${r.variant}]` : ''}: ${n}`),
  );
  if (c.rows.length > 0 && c.rows.every((r) => r.figures && !r.ocipeek)) {
    return [...figuresTable(c), ...(notes.length ? ['', ...notes] : [])];
  }
  const lines = [
    '| row | variant | ocipeek median (min–max) | peer | peer median (min–max) | ratio | target | verdict | RSS ocipeek / peer | bytes fetched ocipeek / peer |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const g of groups(c)) {
    for (const r of g.rows) {
      lines.push(
        `| ${[
          r.label,
          r.variant ?? '—',
          spread(r.ocipeek),
          esc(r.peer?.name ?? '—'),
          spread(r.peer),
          r.ratio === undefined ? '—' : `${r.ratio.toFixed(2)}×`,
          r.target ?? '—',
          verdict(r),
          `${rss(r.ocipeek?.peakRssMB)} / ${rss(r.peer?.peakRssMB)}`,
          `${mb(r.ocipeek?.bytesFetched)} / ${mb(r.peer?.bytesFetched)}`,
        ].join(' | ')} |`,
      );
    }
  }
  return notes.length ? [...lines, '', ...notes] : lines;
}

function environment(rep: BenchReport): string {
  const vars = Object.entries(rep.userEnv);
  if (vars.length === 0)
    return 'the shell set no `NODE_*` variable: `user` and `clean` are the same';
  return `the shell set ${vars.map(([k, v]) => `\`${k}=${v}\``).join(', ')}; \`clean\` runs without ${vars.length > 1 ? 'them' : 'it'}`;
}

/** The Markdown report (docs/BENCHMARKS.md). */
export function toMarkdown(rep: BenchReport): string {
  const m = rep.machine;
  const out: string[] = [
    '# Benchmarks',
    '',
    'ocipeek measured side by side with the tools users would otherwise pick, in the same run',
    'on the same machine, against the Debian `docker-registry` on loopback. Regenerate with',
    '`npm run bench` (full) or `npm run bench -- --quick`; the corpus is built once into',
    '`.cache/bench/` (or `$OCIPEEK_BENCH_CACHE`). Raw figures: `bench/results/latest.json`.',
    'What each case measures and which variants it runs in: `bench/README.md`.',
    '',
    'Every case runs in up to four variants: its files on **tmpfs** or on the **disk**, in the',
    "shell's environment as it is (**user**) or without any `NODE_*` variable (**clean**). A",
    'row meets its target only when it meets it in every variant it ran in.',
    '',
    `- date: ${rep.date}${rep.quick ? ' (**--quick** run: fewer runs, smaller big layer)' : ''}`,
    `- runs: ${rep.warmup} warm-up + ${rep.runs} measured per contender (short commands more, see each table's n), contenders alternating`,
    `- machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, kernel ${m.kernel}, ${m.os}`,
    `- \`node -e ''\` on this machine: ${nodeFloor(rep)}`,
    `- disk: ${m.disk} as the kernel reports it; load average at start ${m.loadAverage.join(' ')}`,
    `- environment: ${environment(rep)}`,
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
  out.push('', '## Summary', '', 'Ratio of medians, ocipeek over the peer (✗: missed there).', '');
  out.push(...summary(rep));
  const missed = rep.cases.flatMap((c) =>
    c.rows
      .filter((r) => r.met === false)
      .map((r) => `${c.title} — ${r.label} [${r.variant}]: ${cell(r)}, target ${r.target}`),
  );
  out.push('', '## Targets missed', '');
  out.push(...(missed.length ? missed.map((x) => `- ${x}`) : ['- none in this run']));
  for (const c of rep.cases) {
    out.push('', `## ${c.title}`, '', `Peer: ${esc(c.peer)}. Target: ${c.target}.`, '');
    if (c.method) out.push(`Method: ${c.method}`, '');
    if (c.measured)
      out.push(`Measured in the run of ${c.measured} (kept by a \`--only\` run).`, '');
    if (c.errors)
      out.push(
        `**Failed in** ${Object.entries(c.errors)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')}`,
        '',
      );
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

/** Node's own start-up (the `startup` case's peer), per variant, so a reader can scale the figures. */
function nodeFloor(rep: BenchReport): string {
  const startup = rep.cases.find((c) => c.id === 'startup');
  const rows = (startup?.rows ?? []).filter((r) => r.peer?.name === "node -e ''");
  if (rows.length === 0) return 'not measured in this report (run the `startup` case)';
  const when = startup?.measured ? ` (measured ${startup.measured})` : '';
  return `${rows.map((r) => `${(r.peer!.medianS * 1000).toFixed(0)} ms ${r.variant}`).join(', ')}${when}`;
}
