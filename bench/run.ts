import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { catFile } from './cases/cat.js';
import { jsPeerPull } from './cases/js-peer.js';
import { listLayers } from './cases/list.js';
import { registryLoad } from './cases/load.js';
import { peekLayer } from './cases/peek.js';
import { imageProxy } from './cases/proxy.js';
import { pullBig, pullShared, pullSmall } from './cases/pull.js';
import { peakRss } from './cases/rss.js';
import { seekIndex } from './cases/seek-index.js';
import { smallCommands } from './cases/small.js';
import { startup } from './cases/startup.js';
import {
  type BenchCase,
  type CaseContext,
  type CaseResult,
  type ImageNeed,
  type Row,
  Skip,
} from './cases/types.js';
import { unpackApp } from './cases/unpack.js';
import { zstdImage } from './cases/zstd.js';
import { buildCorpus, type Corpus } from './corpus/index.js';
import { findTmpfs, machineInfo } from './machine.js';
import { ensureGnuTime, killRunning } from './measure.js';
import { mergeWithLastReport } from './merge-report.js';
import { BIN, ocipeekVersion } from './ocipeek.js';
import { peerVersions } from './peers.js';
import { type BenchRegistry, startBenchRegistry } from './registry.js';
import { type BenchReport, corpusSummary, REPORT_FORMAT, writeReport } from './report.js';
import {
  ALL_VARIANTS,
  nodeVariables,
  parseVariants,
  pickVariants,
  type Variant,
  variantId,
} from './variants.js';

/** Every case, in the order they run (`rss` reads the figures of the others). */
const CASES: BenchCase[] = [
  startup,
  smallCommands,
  pullBig,
  pullSmall,
  pullShared,
  unpackApp,
  listLayers,
  zstdImage,
  catFile,
  peekLayer,
  seekIndex,
  jsPeerPull,
  imageProxy,
  registryLoad,
  peakRss,
];

const USAGE = `npm run bench [-- OPTIONS]
  --quick          fewer runs (1 warm-up + 3) and a 256 MiB big layer
  --runs N         measured runs per contender (default 5, quick 3; short commands more)
  --warmup N       warm-up runs per contender (default 1)
  --only a,b       run only these cases (${CASES.map((c) => c.id).join(', ')})
  --skip a,b       leave these cases out
  --variants V     all, or a list of ${ALL_VARIANTS.map(variantId).join(', ')}
                   (default: each case's own set, see bench/README.md)
  --note TEXT      a remark for the report (repeatable)
  --no-write       print results, do not write docs/BENCHMARKS.md or bench/results
  corpus cache: $OCIPEEK_BENCH_CACHE or .cache/bench in the repository;
  disk scratch: $OCIPEEK_BENCH_SCRATCH or the cache folder`;

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** The corpus images the chosen cases pull from the registry. */
function imagesFor(cases: BenchCase[], corpus: Corpus): string[] {
  const needs = new Set<ImageNeed>(cases.flatMap((c) => c.needs));
  const names: string[] = [];
  for (const need of ['debian', 'app', 'big', 'debian-zstd'] as const) {
    if (!needs.has(need)) continue;
    const name = need === 'big' ? corpus.big?.name : need;
    if (name && corpus.images[name]) names.push(name);
  }
  return names;
}

/** Run `c` in each of its variants; rows are tagged with the variant they come from. */
async function runCase(
  c: BenchCase,
  variants: Variant[],
  contextFor: (v: Variant) => CaseContext | string,
  aborted: () => boolean,
): Promise<CaseResult> {
  const base = {
    id: c.id,
    title: c.title,
    peer: c.peer,
    target: c.target,
    ...(c.method ? { method: c.method } : {}),
  };
  const rows: Row[] = [];
  const errors: Record<string, string> = {};
  let skipped: string | undefined;
  for (const v of c.derived ? [ALL_VARIANTS[0]!] : variants) {
    const id = variantId(v);
    const ctx = contextFor(v);
    if (typeof ctx === 'string') {
      errors[id] = ctx;
      continue;
    }
    if (!c.derived) log(`  variant ${id}`);
    try {
      for (const row of await c.run(ctx)) rows.push(c.derived ? row : { ...row, variant: id });
    } catch (err) {
      if (aborted()) throw err;
      const reason = (err as Error).message;
      if (err instanceof Skip) {
        skipped = reason;
        break;
      }
      log(`  FAILED in ${id}: ${reason}`);
      errors[id] = reason;
    }
  }
  const ran = c.derived ? undefined : variants.map(variantId).filter((id) => !errors[id]);
  if (skipped) return { ...base, status: 'skipped', reason: skipped, rows: [] };
  const failed = Object.keys(errors).length > 0;
  return {
    ...base,
    status: failed && rows.length === 0 ? 'failed' : 'ok',
    reason: failed
      ? Object.entries(errors)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')
      : undefined,
    variants: ran,
    errors: failed ? errors : undefined,
    rows,
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      only: { type: 'string' },
      skip: { type: 'string' },
      variants: { type: 'string' },
      note: { type: 'string', multiple: true },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!existsSync(BIN)) throw new Error(`${BIN} missing: run "npm run build" first`);
  const quick = values.quick;
  const runs = Number(values.runs ?? (quick ? 3 : 5));
  const warmup = Number(values.warmup ?? 1);
  const only = values.only?.split(',');
  const skip = values.skip?.split(',') ?? [];
  const wanted = values.variants ? parseVariants(values.variants) : undefined;
  const cases = CASES.filter((c) => (!only || only.includes(c.id)) && !skip.includes(c.id));

  const cache = process.env.OCIPEEK_BENCH_CACHE ?? path.join(repoRoot, '.cache', 'bench');
  const scratchBase = process.env.OCIPEEK_BENCH_SCRATCH ?? cache;
  await mkdir(cache, { recursive: true });
  const abort = new AbortController();
  let registry: BenchRegistry | undefined;
  let scratch: string | undefined;
  let tmpfsDir: string | undefined;
  const cleanup = async () => {
    killRunning();
    await registry?.stop().catch(() => {});
    registry = undefined;
    for (const d of [scratch, tmpfsDir]) if (d) await rm(d, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping everything the bench started`);
      abort.abort();
      void cleanup().finally(() => process.exit(130));
    });
  }

  ensureGnuTime(log);
  const started = new Date();
  const machine = machineInfo(scratchBase);
  log(`corpus in ${cache}`);
  const corpus = await buildCorpus(cache, {
    bigSize: quick ? 256 << 20 : 1 << 30,
    needBig: cases.some((c) => c.needs.includes('big')),
    needZstd: cases.some((c) => c.needs.includes('debian-zstd')),
    log,
  });
  const images = imagesFor(cases, corpus);
  const results: CaseResult[] = [];
  try {
    await mkdir(scratchBase, { recursive: true });
    scratch = await mkdtemp(path.join(scratchBase, 'scratch-'));
    const tmpfs = findTmpfs();
    tmpfsDir = tmpfs ? await mkdtemp(path.join(tmpfs, 'ocipeek-bench-')) : undefined;
    const roots: Record<Variant['medium'], string | undefined> = { disk: scratch, tmpfs: tmpfsDir };
    for (const root of Object.values(roots)) if (root) await mkdir(path.join(root, 'home'));
    log(`starting docker-registry and pushing ${images.join(', ') || 'nothing'}`);
    registry = await startBenchRegistry(corpus, images, log, abort.signal);
    const reg = registry;
    for (const c of cases) {
      log(`case ${c.id}: ${c.title}`);
      const caseRuns = values.runs ? runs : Math.max(runs, c.minRuns ?? 0);
      const contextFor = (variant: Variant): CaseContext | string => {
        const root = roots[variant.medium];
        if (!root) return 'no tmpfs found (checked /dev/shm, /run/shm, /tmp)';
        return {
          corpus,
          host: reg.host,
          proxy: reg.proxy,
          warmup,
          runs: caseRuns,
          quick,
          cache,
          scratch: scratch!,
          variant,
          dir: root,
          home: path.join(root, 'home'),
          done: results,
          log,
        };
      };
      const variants = pickVariants(c.variants, wanted);
      results.push(await runCase(c, variants, contextFor, () => abort.signal.aborted));
      const last = results[results.length - 1]!;
      if (last.status !== 'ok') log(`  ${last.status}: ${last.reason}`);
    }
  } finally {
    await cleanup();
  }

  const remarks = [...(values.note ?? [])];
  // A run of derived cases only (peak RSS) measures nothing, so the load does not matter.
  const measuredSomething = cases.some((c) => !c.derived);
  if (measuredSomething && machine.loadAverage[0]! > machine.cpus * 0.5) {
    remarks.push(
      `the machine was busy when the run started (load ${machine.loadAverage[0]} on ${machine.cpus} CPUs): figures are provisional`,
    );
  }
  let report: BenchReport = {
    format: REPORT_FORMAT,
    date: started.toISOString(),
    quick,
    warmup,
    runs,
    machine,
    userEnv: nodeVariables(),
    versions: { node: process.version, ocipeek: ocipeekVersion(), ...peerVersions() },
    corpus: corpusSummary(corpus, images),
    remarks,
    cases: results,
  };
  if (only) {
    report = await mergeWithLastReport(
      repoRoot,
      report,
      CASES.map((c) => c.id),
    );
    // A derived case (peak RSS) judges the rows of other cases: computed again over the
    // merged report, it shows the fresh figures beside the kept ones instead of going stale.
    const merged = report.cases;
    const cases: CaseResult[] = [];
    for (const c of merged) {
      const derived = CASES.find((d) => d.id === c.id && d.derived);
      if (!derived) {
        cases.push(c);
        continue;
      }
      const ctx = { corpus, done: merged, log } as unknown as CaseContext;
      cases.push(
        await runCase(
          derived,
          [],
          () => ctx,
          () => false,
        ),
      );
    }
    report = { ...report, cases };
  }
  if (values['no-write']) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    for (const f of await writeReport(repoRoot, report)) log(`wrote ${path.relative(repoRoot, f)}`);
  }
  for (const c of results) {
    for (const r of c.rows) {
      const ratio = r.ratio === undefined ? '' : ` ratio ${r.ratio.toFixed(2)}`;
      const amount = r.amount ? ` ${r.amount.value.toFixed(1)} ${r.amount.unit}` : '';
      const verdict = r.met === undefined ? '' : r.met ? ' met' : ' MISSED';
      const figures = r.figures ? ` ${JSON.stringify(r.figures)}` : '';
      log(
        `${c.id} ${r.label} [${r.variant ?? '-'}]:${ratio}${amount} ${r.target ?? ''}${verdict}${figures}`,
      );
    }
    if (c.status !== 'ok' || c.errors) log(`${c.id}: ${c.status} (${c.reason})`);
  }
  return results.some((c) => c.status === 'failed' || c.errors) ? 1 : 0;
}

process.exitCode = await main();
