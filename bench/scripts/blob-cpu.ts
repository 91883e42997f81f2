/**
 * Server CPU per GB of blobs served, under the `load` case's client load, for builds of
 * ocipeek side by side (and Debian's docker-registry). Not part of `npm run bench`: a tool
 * for trying a change of the blob path on a busy machine, where MB/s is noise but the
 * server's own CPU time (user + system, from /proc) per GB served is not.
 *
 *   node --import tsx bench/scripts/blob-cpu.ts [--pairs 5] [--clients 64] [--loops 2]
 *        [--push] [--peer] NAME=DIST ...
 *
 * NAME=DIST names a build (`dist` of a worktree, or a copy of one): its
 * `DIST/bin/ocipeek serve --storage` is started. `--peer` adds docker-registry. Every
 * server holds the same two images of the corpus's blob sizes (random bytes: serving does
 * not read them), pushed by the load client itself; each round runs every server once, in
 * an order rotated round by round, with the `load` case's pull step (each client pulls
 * both images `--loops` times). Printed per run and as medians: MB/s, p99, the server's
 * CPU seconds and CPU ms per GB served, and each contender's median ratio over the first
 * one in the same round. `--push` runs the case's push step instead (each client pushes
 * the debian-sized image to a repository of its own, once): CPU per GB received. `OCIPEEK_SERVE_NODE_FLAGS` passes node flags (`--cpu-prof`).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../../test/harness/ports.js';
import { startRegistry } from '../../test/harness/registry-process.js';
import { type LoadResult, percentile, pullStep, pushStep, runLoad } from '../load-clients.js';
import { median } from '../measure.js';
import { layoutBlobWriter, layoutImage } from './layout-image.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    pairs: { type: 'string', default: '5' },
    clients: { type: 'string', default: '64' },
    loops: { type: 'string', default: '2' },
    peer: { type: 'boolean', default: false },
    push: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.pairs);
const CLIENTS = Number(values.clients);
const LOOPS = Number(values.loops);
/** `--push`: the `load` case's push step (each client pushes debian to a repository of its own) instead of pulls. */
const PUSH = values.push;

/** The corpus's blob sizes (bench/results: debian's layer, app's node_modules and top layers). */
const LAYER_SIZES = [49_468_051, 36_220_730, 615];

interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** [user, system] CPU seconds of `pid` so far, from /proc/PID/stat (clock ticks of 10 ms). */
function cpuTimes(pid: number): [number, number] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5) (utime, stime) are 11 and 12 after the command name.
  return [Number(fields[11]) / 100, Number(fields[12]) / 100];
}

/** CPU seconds (user + system) of the main thread of `pid` and of all its other threads. */
function threadTimes(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = Number(tid) === pid ? 'main' : 'others';
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpu = (Number(fields[11]) + Number(fields[12])) / 100;
      byName.set(name, (byName.get(name) ?? 0) + cpu);
    } catch {} // a thread that ended meanwhile
  }
  return byName;
}

/** Peak RSS (VmHWM) of `pid`, MB. */
function peakRssMB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round((Number(m[1]) * 1024) / 1e6) : Number.NaN;
}

async function waitUp(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url} not up`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startOcipeek(dist: string, store: string): Promise<Server> {
  const port = await freePort();
  const args = ['serve', '--storage', store, '--listen', `127.0.0.1:${port}`, '--quiet'];
  // Node flags (`--cpu-prof` is refused in NODE_OPTIONS): node on the launcher's script,
  // with the variable the sh launcher would set.
  const flags = process.env.OCIPEEK_SERVE_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  const child = flags.length
    ? spawn(process.execPath, [...flags, path.join(dist, 'bin', 'ocipeek.js'), ...args], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, MALLOC_ARENA_MAX: '2' },
      })
    : spawn(path.join(dist, 'bin', 'ocipeek'), args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  await waitUp(url);
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A layout folder with the two images' blobs, and what the load client pushes of them. */
function makeImages(dir: string) {
  const put = layoutBlobWriter(dir);
  const layers = LAYER_SIZES.map((n) => put(randomBytes(n)));
  return {
    debian: layoutImage(put, layers.slice(0, 1), 'debian'),
    app: layoutImage(put, layers, 'app'),
  };
}

interface Run {
  name: string;
  result: LoadResult;
  cpu: number;
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(process.env.OCIPEEK_BENCH_SCRATCH ?? tmpdir(), 'blob-cpu-'));
  const contenders: { name: string; start: () => Promise<Server> }[] = positionals.map((p) => {
    const [name, dist] = p.split('=') as [string, string];
    const store = path.join(work, `store-${name}`);
    return { name, start: () => startOcipeek(path.resolve(dist), store) };
  });
  if (values.peer) {
    contenders.push({
      name: 'docker-registry',
      start: async () => {
        const reg = await startRegistry({ quiet: true });
        return { url: reg.url, pid: reg.pid!, stop: () => reg.stop() };
      },
    });
  }
  const layout = path.join(work, 'layout');
  const images = makeImages(layout);
  const servers: Server[] = [];
  try {
    for (const c of contenders) {
      const s = await c.start();
      servers.push(s);
      for (const [name, image] of Object.entries(images)) {
        const seeded = await runLoad(s.url, 1, 1, pushStep(layout, image, name));
        if (seeded.failed) throw new Error(`${c.name}: seeding failed: ${seeded.firstFailure}`);
      }
    }
    const pulled = ['load/debian/push0:r0', 'load/app/push0:r0'];
    const rounds: Run[][] = [];
    console.log(
      `load ${loadavg()
        .map((v) => v.toFixed(1))
        .join(' ')}`,
    );
    for (let round = 0; round < ROUNDS; round++) {
      const runs: Run[] = [];
      for (let k = 0; k < contenders.length; k++) {
        const i = (k + round) % contenders.length;
        const s = servers[i]!;
        const [user0, sys0] = cpuTimes(s.pid);
        const threads0 = threadTimes(s.pid);
        // OCIPEEK_BLOB_CPU_STRACE=DIR: system calls of each run, counted (`strace -c -f`).
        const straceDir = process.env.OCIPEEK_BLOB_CPU_STRACE;
        const strace = straceDir
          ? spawn(
              'strace',
              [
                '-c',
                '-f',
                '-p',
                String(s.pid),
                '-o',
                path.join(straceDir, `${contenders[i]!.name}-${round}.txt`),
              ],
              { stdio: 'ignore' },
            )
          : undefined;
        // OCIPEEK_BLOB_CPU_PERF=DIR: a CPU profile of each run (`perf record -e cpu-clock -g`;
        // with OCIPEEK_SERVE_NODE_FLAGS=--perf-basic-prof for JavaScript's names).
        const perfDir = process.env.OCIPEEK_BLOB_CPU_PERF;
        const perf = perfDir
          ? spawn(
              'perf',
              [
                'record',
                '-q',
                '-e',
                'cpu-clock',
                '-g',
                '-p',
                String(s.pid),
                '-o',
                path.join(perfDir, `${contenders[i]!.name}-${round}.data`),
              ],
              { stdio: 'ignore' },
            )
          : undefined;
        if (strace || perf) await new Promise((r) => setTimeout(r, 1000));
        const result = PUSH
          ? await runLoad(s.url, CLIENTS, 1, pushStep(layout, images.debian, `round${round}`))
          : await runLoad(s.url, CLIENTS, LOOPS, pullStep(pulled));
        const [user1, sys1] = cpuTimes(s.pid);
        for (const tracer of [strace, perf]) {
          if (!tracer) continue;
          const done = new Promise((r) => tracer.once('exit', r));
          tracer.kill('SIGINT');
          await done;
        }
        const cpu = user1 - user0 + (sys1 - sys0);
        const threads = [...threadTimes(s.pid)]
          .map(([name, t]) => [name, t - (threads0.get(name) ?? 0)] as const)
          .filter(([, t]) => t > 0)
          .map(([name, t]) => `${name} ${t.toFixed(2)}`)
          .join(', ');
        if (result.failed) throw new Error(`${contenders[i]!.name}: ${result.firstFailure}`);
        runs.push({ name: contenders[i]!.name, result, cpu });
        console.log(
          `round ${round} ${contenders[i]!.name}: ${fmt(result, cpu)} (user ${(user1 - user0).toFixed(2)}, sys ${(sys1 - sys0).toFixed(2)}), load ${loadavg()[0]!.toFixed(1)}\n  threads: ${threads}`,
        );
      }
      rounds.push(runs);
    }
    console.log(
      '\nmedians (ratio: median over rounds of this ÷ first contender in the same round)',
    );
    for (const [i, c] of contenders.entries()) {
      const mine = rounds.map((r) => r.find((x) => x.name === c.name)!);
      const first = rounds.map((r) => r.find((x) => x.name === contenders[0]!.name)!);
      const ratio = (f: (x: Run) => number) =>
        median(mine.map((x, k) => f(x) / f(first[k]!))).toFixed(3);
      console.log(
        `${c.name}: ${Math.round(median(mine.map((x) => mbs(x.result))))} MB/s, ` +
          `CPU ${median(mine.map(cpuPerGB)).toFixed(0)} ms/GB, ` +
          `p99 ${median(mine.map((x) => percentile(x.result.latencies, 0.99))).toFixed(0)} ms, ` +
          `peak RSS ${peakRssMB(servers[i]!.pid)} MB; ` +
          `ratios MB/s ${ratio((x) => mbs(x.result))}, CPU/GB ${ratio(cpuPerGB)}`,
      );
    }
  } finally {
    for (const s of servers) await s.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

const mbs = (r: LoadResult) => r.bytes / 1e6 / r.seconds;
const cpuPerGB = (x: Run) => (x.cpu * 1000) / (x.result.bytes / 1e9);
const fmt = (r: LoadResult, cpu: number) =>
  `${Math.round(mbs(r))} MB/s, ${(r.bytes / 1e9).toFixed(2)} GB in ${r.seconds.toFixed(1)} s, ` +
  `p99 ${percentile(r.latencies, 0.99).toFixed(0)} ms, CPU ${cpu.toFixed(2)} s = ` +
  `${((cpu * 1000) / (r.bytes / 1e9)).toFixed(0)} ms/GB`;

await main();
