import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../test/harness/ports.js';
import { pushLayout } from '../../test/harness/push-layout.js';
import { type RunningRegistry, startRegistry } from '../../test/harness/registry-process.js';
import type { CorpusImage } from '../corpus/index.js';
import {
  fairShareP99,
  type LoadResult,
  type LoadStep,
  type PushImage,
  percentile,
  pullStep,
  pushStep,
  runLoad,
} from '../load-clients.js';
import { median } from '../measure.js';
import { BIN, hasCommand, ocipeek } from '../ocipeek.js';
import { hasProgram } from '../peers.js';
import { ALL_VARIANTS } from '../variants.js';
import { freshDir } from './compare.js';
import { type BenchCase, type CaseContext, type Row, Skip } from './types.js';

/**
 * Clients at once (the issues' 64). `OCIPEEK_BENCH_LOAD_CLIENTS` lowers it for a smoke run
 * on a small machine; the report names the figure used.
 */
const CLIENTS = Number(process.env.OCIPEEK_BENCH_LOAD_CLIENTS ?? 64);

/**
 * Pairs of runs of each scenario (`OCIPEEK_BENCH_LOAD_PAIRS`, default 5): one run of each
 * server per pair, back to back, and the verdict is on the median of the pairs' ratios.
 * Not `--runs`: one round of 64 clients is already tens of seconds.
 */
const PAIRS = Math.max(1, Number(process.env.OCIPEEK_BENCH_LOAD_PAIRS ?? 5));

/** The target, judged per scenario on the pairs' ratios ({@link judge}). */
const TARGET = `median over ${PAIRS} pairs of MB/s ÷ docker-registry's ≥ 1 and of p99 ÷ its ≤ 1, 0 failed`;

/** How many times each client pulls the images in one round (pull and warm cache). */
const LOOPS = 2;

/** The images pulled under load: the corpus's registry-sized ones (not the 1 GiB one). */
const PULLED = ['debian', 'app'] as const;
/** The image each client pushes to a repository of its own. */
const PUSHED = 'debian';

/** A server under load: where it answers, its process id, and how to stop it. */
interface Server {
  url: string;
  host: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Peak RSS of process `pid` so far (VmHWM), MB; undefined when it cannot be read. */
function peakRssMB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round((Number(m[1]) * 1024) / 1e6) : undefined;
  } catch {
    return undefined;
  }
}

/** GET /v2/ until it answers, or fail after `ms`. */
async function waitUp(url: string, ms: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url} not up after ${ms} ms\n${logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `ocipeek serve --storage DIR ...` as installed, on a free loopback port. */
async function startOcipeek(ctx: CaseContext, args: string[]): Promise<Server> {
  const store = freshDir(ctx.dir, 'load-store');
  await store.make();
  const port = await freePort();
  const cmd = ocipeek(ctx, [
    'serve',
    '--storage',
    store.dir,
    '--listen',
    `127.0.0.1:${port}`,
    '--quiet',
    ...args,
  ]);
  // The sh launcher execs node: the pid is the server's.
  const child = spawn(BIN, cmd.args, {
    env: { ...process.env, ...cmd.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => {
    errors = (errors + chunk.toString('utf8')).slice(-16_384);
  });
  const logs = () => errors;
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await store.remove();
  };
  try {
    await waitUp(url, 60_000, logs);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, host: `127.0.0.1:${port}`, pid: child.pid, stop };
}

/** The Debian `docker-registry`, quiet, optionally in proxy mode in front of `remote`. */
async function startPeer(remote?: string): Promise<Server> {
  const reg = await startRegistry({ quiet: true, proxyRemoteUrl: remote });
  return { url: reg.url, host: reg.host, pid: reg.pid, stop: () => reg.stop() };
}

/** An image of the corpus as a client pushes it: manifest bytes and every blob. */
function pushImageOf(image: CorpusImage): PushImage {
  const file = (digest: string) =>
    path.join(image.layoutDir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const bytes = readFileSync(file(image.manifestDigest));
  const manifest = JSON.parse(bytes.toString('utf8')) as {
    mediaType?: string;
    config: { digest: string; size: number };
    layers: { digest: string; size: number }[];
  };
  return {
    bytes,
    mediaType: manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
    blobs: [manifest.config, ...manifest.layers],
  };
}

/** One run of a scenario against one server: what the clients saw, and the server's RSS. */
interface RoundFigures {
  result: LoadResult;
  /** The server's peak RSS so far (VmHWM), MB. */
  rssMB?: number;
  /** MB the server fetched from upstream in this run (caches). */
  upstreamMB?: number;
}

const round1 = (v: number) => Number(v.toFixed(1));

/** MB/s of one run. */
const mbPerS = (r: LoadResult) => r.bytes / 1e6 / r.seconds;

/**
 * One row for one server in one scenario, from its `runs` (one per round): medians of
 * MB/s, p50, p99 and fairness, the highest peak RSS, requests and failures summed.
 */
function rowOf(label: string, server: string, runs: RoundFigures[]): Row {
  const of = (f: (r: LoadResult) => number) => median(runs.map((x) => f(x.result)));
  const rss = runs.flatMap((x) => (x.rssMB === undefined ? [] : [x.rssMB]));
  const upstream = runs.flatMap((x) => (x.upstreamMB === undefined ? [] : [x.upstreamMB]));
  const first = runs.find((x) => x.result.firstFailure)?.result.firstFailure;
  return {
    label: `${label}: ${server}`,
    figures: {
      clients: runs[0]!.result.clients,
      rounds: runs.length,
      requests: runs.reduce((n, x) => n + x.result.requests, 0),
      failed: runs.reduce((n, x) => n + x.result.failed, 0),
      'MB/s': Math.round(of(mbPerS)),
      'MB/s each round': runs.map((x) => Math.round(mbPerS(x.result))).join(' '),
      'p50 ms': round1(of((r) => percentile(r.latencies, 0.5))),
      'p99 ms': round1(of((r) => percentile(r.latencies, 0.99))),
      'p99 / fair share': Number(of(fairShareP99).toFixed(2)),
      'server peak RSS MB': rss.length > 0 ? Math.max(...rss) : '—',
      ...(upstream.length > 0 ? { 'upstream MB': round1(median(upstream)) } : {}),
    },
    notes: first ? [`first failure: ${first}`] : [],
  } satisfies Row;
}

/**
 * ocipeek's run over the peer's, pair by pair, of figure `f`. The two runs of a pair ran
 * back to back on the same machine, so what the machine did meanwhile (other work, the
 * page cache, thermal state) weighs on both alike and mostly cancels in the ratio, where
 * it moves each server's own figure by ±20% from round to round.
 */
function pairRatios(
  ours: readonly LoadResult[],
  theirs: readonly LoadResult[],
  f: (r: LoadResult) => number,
): number[] {
  return ours.map((r, i) => f(r) / f(theirs[i]!));
}

/** `median (min–max)` of ratios, two decimals: the figure judged and its spread. */
function medianAndSpread(ratios: readonly number[]): string {
  const d = (v: number) => v.toFixed(2);
  return `${d(median([...ratios]))} (${d(Math.min(...ratios))}–${d(Math.max(...ratios))})`;
}

/**
 * ocipeek's row judged against the peer's on the pairs' ratios: the median of ocipeek's
 * MB/s over the peer's at least 1, the median of its p99 over the peer's at most 1, no
 * failure. The ratios of every pair and their spread are shown beside the medians.
 */
function judge(ours: Row, got: Record<Which, RoundFigures[]>): Row {
  const mine = got.ocipeek.map((x) => x.result);
  const peer = got['docker-registry'].map((x) => x.result);
  const throughput = pairRatios(mine, peer, mbPerS);
  const p99 = pairRatios(mine, peer, (r) => percentile(r.latencies, 0.99));
  const met = ours.figures!.failed === 0 && median([...throughput]) >= 1 && median([...p99]) <= 1;
  return {
    ...ours,
    figures: {
      ...ours.figures,
      'MB/s ÷ peer each pair': throughput.map((v) => v.toFixed(2)).join(' '),
      'MB/s ÷ peer, median (min–max)': medianAndSpread(throughput),
      'p99 ÷ peer, median (min–max)': medianAndSpread(p99),
    },
    met,
    target: TARGET,
  };
}

type Which = 'ocipeek' | 'docker-registry';

/**
 * The order of the two servers in pair `round`: ocipeek first in even pairs, the peer
 * first in odd ones, so that neither always runs right after the other (page cache,
 * the machine's drift between runs).
 */
function orderOf(round: number): Which[] {
  return round % 2 === 0 ? ['ocipeek', 'docker-registry'] : ['docker-registry', 'ocipeek'];
}

/** One run of `step` against `server`, logged, with its peak RSS so far. */
async function runOnce(
  ctx: CaseContext,
  label: string,
  name: Which,
  server: Server,
  loops: number,
  step: LoadStep,
): Promise<RoundFigures> {
  const result = await runLoad(server.url, CLIENTS, loops, step);
  const rssMB = peakRssMB(server.pid);
  ctx.log(
    `    ${label} ${name}: ${result.requests} requests, ${result.failed} failed, ${result.seconds.toFixed(2)} s, ${Math.round(mbPerS(result))} MB/s, ${rssMB ?? '?'} MB`,
  );
  return { result, rssMB };
}

/** Copy the pulled images into `server` with skopeo (untimed set-up). */
async function seed(ctx: CaseContext, server: Server): Promise<void> {
  for (const name of PULLED) {
    const img = ctx.corpus.images[name]!;
    const plain = { host: server.host, tls: 'none', auth: 'none', users: [] };
    await pushLayout(
      img.layoutDir,
      name,
      plain as unknown as RunningRegistry,
      `bench/${name}:latest`,
      {
        method: 'skopeo',
        all: false,
        timeoutMs: 900_000,
      },
    );
  }
}

/**
 * 64 clients at once against `ocipeek serve` and against Debian's `docker-registry`, each
 * holding the same images: pulls of the corpus images, pushes of one to a repository per
 * client, and the pull-through caches (`serve --upstream`, distribution's proxy mode) in
 * front of the bench registry, cold then warm. Each scenario runs in {@link PAIRS} pairs,
 * one run of each server per pair, back to back, the first of a pair alternating; the rows
 * give medians and each pair's ratio, and the verdict is on the median ratio: one run per
 * server decides nothing (the same pull moved 672 ↔ 1061 MB/s between two runs of a day),
 * and medians of each server's own rounds still moved ±20% between two runs of an hour.
 */
export const registryLoad: BenchCase = {
  id: 'load',
  title: `${CLIENTS} concurrent clients against the registry server and the pull-through cache`,
  peer: 'Debian docker-registry (distribution 2.8), the same images; its proxy mode as the cache',
  target: TARGET,
  method: [
    `each scenario runs in ${PAIRS} pairs (\`OCIPEEK_BENCH_LOAD_PAIRS\`), one run of each server`,
    'per pair, back to back, ocipeek first in even pairs and docker-registry first in odd ones.',
    "A pair's ratio is ocipeek's figure over docker-registry's in that pair; the verdict is on",
    'the median of the ratios, shown with their spread (min–max) and every ratio. Two runs of',
    'a pair share what the machine did meanwhile, so it mostly cancels in the ratio, where',
    "it moved each server's own median of rounds by ±20% between two runs of an hour",
    '(2026-12-03, 19:05 and 19:44). MB/s, p50, p99 and fairness are also given as each',
    "server's median over its runs; RSS is the highest; requests and failures are summed.",
  ].join(' '),
  // Servers, not the CLI's start-up: one variant.
  variants: ALL_VARIANTS.filter((v) => v.medium === 'disk' && v.env === 'user'),
  needs: ['debian', 'app'],
  async run(ctx) {
    if (!hasCommand('serve')) throw new Skip('no serve in this build');
    if (!hasProgram('docker-registry') || !hasProgram('skopeo')) {
      throw new Skip('docker-registry and skopeo needed');
    }
    const pulled = PULLED.map((n) => `bench/${n}:latest`);
    const pushed = pushImageOf(ctx.corpus.images[PUSHED]!);
    const layout = ctx.corpus.images[PUSHED]!.layoutDir;
    const rows: Row[] = [];
    const runs = (): Record<Which, RoundFigures[]> => ({ ocipeek: [], 'docker-registry': [] });
    const addRows = (label: string, got: Record<Which, RoundFigures[]>) => {
      const theirs = rowOf(label, 'docker-registry', got['docker-registry']);
      rows.push(judge(rowOf(label, 'ocipeek', got.ocipeek), got), theirs);
    };
    /**
     * Both servers up for the whole scenario (`start`), `each` run in turns. `warmUp`, when
     * given, runs once per server before the pairs and is not counted: the first run after
     * seeding was the slowest of every series (page cache, JIT), and it fell on ocipeek in
     * pair 0.
     */
    const alternate = async (
      start: (which: Which) => Promise<Server>,
      each: (server: Server, which: Which, round: number) => Promise<RoundFigures>,
      warmUp?: (server: Server, which: Which) => Promise<unknown>,
    ) => {
      const got = runs();
      const servers: Partial<Record<Which, Server>> = {};
      try {
        for (const which of orderOf(0)) servers[which] = await start(which);
        if (warmUp) for (const which of orderOf(0)) await warmUp(servers[which]!, which);
        for (let round = 0; round < PAIRS; round++) {
          for (const which of orderOf(round)) {
            got[which].push(await each(servers[which]!, which, round));
          }
        }
      } finally {
        for (const server of Object.values(servers)) await server.stop();
      }
      return got;
    };
    const direct = async (which: Which) => {
      const server = await (which === 'ocipeek' ? startOcipeek(ctx, []) : startPeer());
      await seed(ctx, server).catch(async (err: unknown) => {
        await server.stop();
        throw err;
      });
      return server;
    };

    const pullLabel = `pull ${PULLED.join('+')} ×${LOOPS}`;
    addRows(
      pullLabel,
      await alternate(
        direct,
        (s, which) => runOnce(ctx, pullLabel, which, s, LOOPS, pullStep(pulled)),
        (s, which) => runOnce(ctx, 'pull warm-up', which, s, 1, pullStep(pulled)),
      ),
    );
    const pushLabel = `push ${PUSHED} (own repository each)`;
    const fresh = (which: Which) => (which === 'ocipeek' ? startOcipeek(ctx, []) : startPeer());
    addRows(
      pushLabel,
      await alternate(fresh, (s, which, round) =>
        runOnce(ctx, pushLabel, which, s, 1, pushStep(layout, pushed, `round${round}`)),
      ),
    );

    // Caches in front of the bench registry, through the counting proxy: upstream bytes.
    // A cold cache exists once per server, so every round starts fresh ones.
    const upstream = `http://${ctx.proxy.host}`;
    const cold = runs();
    const warm = runs();
    const upstreamMB = () => ctx.proxy.counts().bytes / 1e6;
    for (let round = 0; round < PAIRS; round++) {
      for (const which of orderOf(round)) {
        const s = await (which === 'ocipeek'
          ? startOcipeek(ctx, ['--upstream', upstream])
          : startPeer(upstream));
        try {
          ctx.proxy.reset();
          const first = await runOnce(ctx, 'cache cold', which, s, 1, pullStep(pulled));
          cold[which].push({ ...first, upstreamMB: upstreamMB() });
          ctx.proxy.reset();
          const again = await runOnce(ctx, 'cache warm', which, s, LOOPS, pullStep(pulled));
          warm[which].push({ ...again, upstreamMB: upstreamMB() });
        } finally {
          await s.stop();
        }
      }
    }
    addRows('cache cold', cold);
    addRows(`cache warm ×${LOOPS}`, warm);
    return rows;
  },
};
