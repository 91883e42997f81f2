import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { catFile } from './cases/cat.js';
import { jsPeerPull } from './cases/js-peer.js';
import { listLayers } from './cases/list.js';
import { peekLayer } from './cases/peek.js';
import { pullBig, pullShared, pullSmall } from './cases/pull.js';
import { peakRss } from './cases/rss.js';
import { type BenchCase, type CaseContext, type CaseResult, Skip } from './cases/types.js';
import { unpackApp } from './cases/unpack.js';
import { buildCorpus } from './corpus/index.js';
import { findTmpfs, machineInfo } from './machine.js';
import { ensureGnuTime, killRunning, nodeStartupCost } from './measure.js';
import { mergeWithLastReport } from './merge-report.js';
import { CLI, ocipeekVersion } from './ocipeek.js';
import { peerVersions } from './peers.js';
import { type BenchRegistry, startBenchRegistry } from './registry.js';
import { type BenchReport, corpusSummary, writeReport } from './report.js';

/** Every case, in the order they run (`rss` reads the figures of `pull-big` and `list`). */
const CASES: BenchCase[] = [
  pullBig,
  pullSmall,
  pullShared,
  unpackApp,
  listLayers,
  catFile,
  peekLayer,
  peakRss,
  jsPeerPull,
];

const USAGE = `npm run bench [-- OPTIONS]
  --quick          fewer runs (1 warm-up + 3) and a 256 MiB big layer: a few minutes
  --runs N         measured runs per contender (default 5; quick 3)
  --warmup N       warm-up runs per contender (default 1)
  --only a,b       run only these cases (${CASES.map((c) => c.id).join(', ')})
  --skip a,b       leave these cases out
  --note TEXT      a remark for the report (repeatable)
  --no-write       print results, do not write docs/BENCHMARKS.md or bench/results
  corpus cache: $OCIPEEK_BENCH_CACHE or .cache/bench in the repository`;

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      only: { type: 'string' },
      skip: { type: 'string' },
      note: { type: 'string', multiple: true },
      'no-write': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run "npm run build" first`);
  const quick = values.quick;
  const runs = Number(values.runs ?? (quick ? 3 : 5));
  const warmup = Number(values.warmup ?? 1);
  const only = values.only?.split(',');
  const skip = values.skip?.split(',') ?? [];
  const cases = CASES.filter((c) => (!only || only.includes(c.id)) && !skip.includes(c.id));

  const cache = process.env.OCIPEEK_BENCH_CACHE ?? path.join(repoRoot, '.cache', 'bench');
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
  const machine = machineInfo(cache);
  const startup = nodeStartupCost();
  log(`corpus in ${cache}`);
  const corpus = await buildCorpus(cache, { bigSize: quick ? 256 << 20 : 1 << 30, log });
  const images = ['debian', 'app', corpus.big.name, 'debian-zstd'];
  const results: CaseResult[] = [];
  try {
    scratch = await mkdtemp(path.join(cache, 'scratch-'));
    const tmpfs = findTmpfs();
    tmpfsDir = tmpfs ? await mkdtemp(path.join(tmpfs, 'ocipeek-bench-')) : undefined;
    log('starting docker-registry and pushing the corpus');
    registry = await startBenchRegistry(corpus, images, log, abort.signal);
    const ctx: CaseContext = {
      corpus,
      host: registry.host,
      proxy: registry.proxy,
      warmup,
      runs,
      quick,
      cache,
      scratch,
      tmpfs: tmpfsDir,
      done: results,
      log,
    };
    for (const c of cases) {
      log(`case ${c.id}: ${c.title}`);
      const base = { id: c.id, title: c.title, peer: c.peer, target: c.target };
      try {
        results.push({ ...base, status: 'ok', rows: await c.run(ctx) });
      } catch (err) {
        if (abort.signal.aborted) throw err;
        const skipped = err instanceof Skip;
        const reason = (err as Error).message;
        log(`  ${skipped ? 'skipped' : 'FAILED'}: ${reason}`);
        results.push({ ...base, status: skipped ? 'skipped' : 'failed', reason, rows: [] });
      }
    }
  } finally {
    await cleanup();
  }

  const remarks = [...(values.note ?? [])];
  if (startup) {
    remarks.push(
      `this shell sets ${startup.names.join(' and ')}; every contender ran without ${startup.names.length > 1 ? 'them' : 'it'}, as with a clean HOME (\`node -e ''\` starts in ${startup.without.toFixed(0)} ms without, ${startup.withEnv.toFixed(0)} ms with)`,
    );
  }
  if (machine.loadAverage[0]! > machine.cpus * 0.5) {
    remarks.push(
      `the machine was busy when the run started (load ${machine.loadAverage[0]} on ${machine.cpus} CPUs): figures are provisional`,
    );
  }
  let report: BenchReport = {
    date: started.toISOString(),
    quick,
    warmup,
    runs,
    machine,
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
  }
  if (values['no-write']) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    for (const f of await writeReport(repoRoot, report)) log(`wrote ${path.relative(repoRoot, f)}`);
  }
  for (const c of results) {
    for (const r of c.rows) {
      const ratio = r.ratio === undefined ? '' : ` ratio ${r.ratio.toFixed(2)}`;
      const verdict = r.met === undefined ? '' : r.met ? ' met' : ' MISSED';
      const figures = r.figures ? ` ${JSON.stringify(r.figures)}` : '';
      log(`${c.id} ${r.label}:${ratio} ${r.target ?? ''}${verdict}${figures}`);
    }
    if (c.status !== 'ok') log(`${c.id}: ${c.status} (${c.reason})`);
  }
  return results.some((c) => c.status === 'failed') ? 1 : 0;
}

process.exitCode = await main();
