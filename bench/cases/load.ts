import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../test/harness/ports.js';
import { pushLayout } from '../../test/harness/push-layout.js';
import { type RunningRegistry, startRegistry } from '../../test/harness/registry-process.js';
import type { CorpusImage } from '../corpus/index.js';
import {
  type LoadResult,
  type LoadStep,
  type PushImage,
  percentile,
  pullStep,
  pushStep,
  runLoad,
} from '../load-clients.js';
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

/** One row of figures for one server in one scenario. */
function rowOf(
  label: string,
  server: string,
  r: LoadResult,
  extra: Record<string, string | number>,
) {
  const ms = (v: number) => Number(v.toFixed(1));
  const blobMB = r.bytes / 1e6;
  return {
    label: `${label}: ${server}`,
    figures: {
      clients: r.clients,
      requests: r.requests,
      failed: r.failed,
      s: Number(r.seconds.toFixed(2)),
      'req/s': Math.round(r.requests / r.seconds),
      'MB/s': Math.round(blobMB / r.seconds),
      'p50 ms': ms(percentile(r.latencies, 0.5)),
      'p99 ms': ms(percentile(r.latencies, 0.99)),
      ...extra,
    },
    notes: r.firstFailure ? [`first failure: ${r.firstFailure}`] : [],
  } satisfies Row;
}

/** ocipeek's row judged against the peer's: throughput at least, p99 at most, no failure. */
function judge(ours: Row, theirs: Row): Row {
  const f = ours.figures!;
  const p = theirs.figures!;
  const met =
    f.failed === 0 &&
    (f['MB/s'] as number) >= (p['MB/s'] as number) &&
    (f['p99 ms'] as number) <= (p['p99 ms'] as number);
  return { ...ours, met, target: '≥ MB/s and ≤ p99 of docker-registry, 0 failed' };
}

/** Run `step` against a server started by `start`, then stop it; its peak RSS joins the row. */
async function measure(
  ctx: CaseContext,
  label: string,
  name: string,
  server: Server,
  rounds: number,
  step: LoadStep,
  extra: () => Record<string, string | number> = () => ({}),
): Promise<Row> {
  const r = await runLoad(server.url, CLIENTS, rounds, step);
  const rss = peakRssMB(server.pid);
  ctx.log(
    `    ${label} ${name}: ${r.requests} requests, ${r.failed} failed, ${r.seconds.toFixed(2)} s, ${rss ?? '?'} MB`,
  );
  return rowOf(label, name, r, { 'server peak RSS MB': rss ?? '—', ...extra() });
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
 * server fresh and holding the same images: pulls of the corpus images, pushes of one to
 * a repository per client, and the pull-through caches (`serve --upstream`, distribution's
 * proxy mode) in front of the bench registry, cold then warm.
 */
export const registryLoad: BenchCase = {
  id: 'load',
  title: `${CLIENTS} concurrent clients against the registry server and the pull-through cache`,
  peer: 'Debian docker-registry (distribution 2.8), the same images; its proxy mode as the cache',
  target: '≥ docker-registry MB/s and ≤ its p99, 0 failed',
  // Servers, not the CLI's start-up: one variant.
  variants: ALL_VARIANTS.filter((v) => v.medium === 'disk' && v.env === 'user'),
  needs: ['debian', 'app'],
  async run(ctx) {
    if (!hasCommand('serve')) throw new Skip('no serve in this build');
    if (!hasProgram('docker-registry') || !hasProgram('skopeo')) {
      throw new Skip('docker-registry and skopeo needed');
    }
    const rounds = ctx.runs;
    const pulled = PULLED.map((n) => `bench/${n}:latest`);
    const pushed = pushImageOf(ctx.corpus.images[PUSHED]!);
    const layout = ctx.corpus.images[PUSHED]!.layoutDir;
    const rows: Row[] = [];
    const pair = async (
      start: (which: 'ocipeek' | 'docker-registry') => Promise<Server>,
      run: (s: Server, name: string) => Promise<Row>,
    ) => {
      const got: Row[] = [];
      for (const which of ['ocipeek', 'docker-registry'] as const) {
        const server = await start(which);
        try {
          got.push(await run(server, which));
        } finally {
          await server.stop();
        }
      }
      rows.push(judge(got[0]!, got[1]!), got[1]!);
    };
    const direct = (which: 'ocipeek' | 'docker-registry') =>
      which === 'ocipeek' ? startOcipeek(ctx, []) : startPeer();

    const pullLabel = `pull ${PULLED.join('+')} ×${rounds}`;
    await pair(direct, async (s, name) => {
      await seed(ctx, s);
      return measure(ctx, pullLabel, name, s, rounds, pullStep(pulled));
    });
    const pushLabel = `push ${PUSHED} (own repository each)`;
    await pair(direct, (s, name) => measure(ctx, pushLabel, name, s, 1, pushStep(layout, pushed)));

    // Caches in front of the bench registry, through the counting proxy: upstream bytes.
    const upstream = `http://${ctx.proxy.host}`;
    const cache = (which: 'ocipeek' | 'docker-registry') =>
      which === 'ocipeek' ? startOcipeek(ctx, ['--upstream', upstream]) : startPeer(upstream);
    const fromUpstream = () => ({
      'upstream MB': Number((ctx.proxy.counts().bytes / 1e6).toFixed(1)),
    });
    const coldRows: Row[] = [];
    await pair(cache, async (s, name) => {
      ctx.proxy.reset();
      const first = await measure(ctx, 'cache cold', name, s, 1, pullStep(pulled), fromUpstream);
      ctx.proxy.reset();
      const warm = await measure(
        ctx,
        'cache warm',
        name,
        s,
        rounds,
        pullStep(pulled),
        fromUpstream,
      );
      coldRows.push(warm);
      return first;
    });
    rows.push(judge(coldRows[0]!, coldRows[1]!), coldRows[1]!);
    return rows;
  },
};
