import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type EnvMode, envFor } from './variants.js';

/** A command line to time. */
export interface Cmd {
  /** Program (looked up on PATH) or absolute path. */
  file: string;
  args: string[];
  /** Variables set on top of the variant's environment ({@link envFor}). */
  env?: Record<string, string>;
  cwd?: string;
  /**
   * What to do with stdout: keep it (`capture`, for `--json` output), count its bytes and
   * lines (`count`, for listings too big to keep) or send it to /dev/null (`ignore`).
   * Default `capture`.
   */
  stdout?: 'capture' | 'count' | 'ignore';
  /** Kill the command after this many ms. Default 600000. */
  timeoutMs?: number;
}

/** What one run of a command did. */
export interface RunResult {
  /** Wall-clock milliseconds from spawn to exit. */
  ms: number;
  /** Peak resident set size in KiB of the largest process in the tree (GNU time %M). */
  rssKiB?: number;
  code: number;
  stdout: string;
  /** Bytes and newlines written to stdout (also counted in `capture` mode). */
  stdoutBytes: number;
  stdoutLines: number;
  stderr: string;
}

/** GNU time, present when the `time` package is installed. */
const GNU_TIME = '/usr/bin/time';
let hasGnuTime = existsSync(GNU_TIME);

/** Install GNU time with apt-get when missing and we are root (best effort). */
export function ensureGnuTime(log: (s: string) => void): boolean {
  if (hasGnuTime || process.getuid?.() !== 0) return hasGnuTime;
  log('  installing GNU time (apt-get install time) to measure peak RSS');
  spawnSync('apt-get', ['install', '-y', '-q', 'time'], { stdio: 'ignore', timeout: 300_000 });
  hasGnuTime = existsSync(GNU_TIME);
  return hasGnuTime;
}
let seq = 0;
/** The child being run now, killed by {@link killRunning} on Ctrl-C. */
const running = new Set<ReturnType<typeof spawn>>();

/** Kill every command the bench is running (used on SIGINT/SIGTERM). */
export function killRunning(): void {
  for (const child of running) {
    // Negative pid: the whole process group (sh -c pipelines included).
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
  }
}

/**
 * Run `cmd` once under GNU time (for peak RSS) and time it, in the environment `env`
 * (default the user's). Never throws on a non-zero exit: the caller decides whether the
 * run counts.
 */
export async function runOnce(cmd: Cmd, env: EnvMode = 'user'): Promise<RunResult> {
  const rssFile = path.join(os.tmpdir(), `ocipeek-bench-rss-${process.pid}-${seq++}`);
  const [file, args] = hasGnuTime
    ? [GNU_TIME, ['-f', '%M', '-o', rssFile, cmd.file, ...cmd.args]]
    : [cmd.file, cmd.args];
  const mode = cmd.stdout ?? 'capture';
  const started = performance.now();
  const child = spawn(file, args, {
    cwd: cmd.cwd,
    env: envFor(env, cmd.env),
    stdio: ['ignore', mode === 'ignore' ? 'ignore' : 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let stdoutBytes = 0;
  let stdoutLines = 0;
  child.stdout?.on('data', (c: Buffer) => {
    stdoutBytes += c.length;
    for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) stdoutLines++;
    if (mode === 'capture') out.push(c);
  });
  child.stderr?.on('data', (c: Buffer) => {
    if (err.length < 2000) err.push(c);
  });
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }, cmd.timeoutMs ?? 600_000);
  const code = await new Promise<number>((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : -1)));
  });
  const ms = performance.now() - started;
  clearTimeout(timer);
  running.delete(child);
  let rssKiB: number | undefined;
  if (hasGnuTime) {
    const text = await readFile(rssFile, 'utf8').catch(() => '');
    // GNU time prefixes "Command exited with non-zero status N" on failures.
    const last = text.trim().split('\n').pop() ?? '';
    rssKiB = /^\d+$/.test(last) ? Number(last) : undefined;
    await rm(rssFile, { force: true });
  }
  return {
    ms,
    rssKiB,
    code,
    stdout: Buffer.concat(out).toString('utf8'),
    stdoutBytes,
    stdoutLines,
    stderr: Buffer.concat(err).toString('utf8'),
  };
}

/** Whether peak RSS can be measured (GNU time installed). */
export function canMeasureRss(): boolean {
  return hasGnuTime;
}

/** The median of `values` (mean of the middle two for an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** One side of a comparison: how to prepare, run and check one measured run. */
export interface Contender {
  /** Short name shown in the report, e.g. `ocipeek pull` or `skopeo copy`. */
  name: string;
  /** Untimed set-up before each run (fresh store, empty target dir...). */
  before?: () => Promise<void>;
  /** The command to time; `host` is the registry's `127.0.0.1:PORT`. */
  command: (host: string) => Cmd;
  /** Untimed check and clean-up after each run; throw to fail the case. */
  after?: (run: RunResult) => Promise<void>;
}

/** Timings and peaks over the measured runs of one contender. */
export interface Measured {
  name: string;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Highest peak RSS over the measured runs, KiB. */
  peakRssKiB?: number;
  /** The last measured run (for its stdout/stderr). */
  last: RunResult;
  all: RunResult[];
}

/** Options for {@link measureAlternating}. */
export interface AlternateOptions {
  host: string;
  /** The environment every contender runs in. */
  env: EnvMode;
  warmup: number;
  runs: number;
  log?: (line: string) => void;
}

async function once(c: Contender, host: string, env: EnvMode): Promise<RunResult> {
  // Write back what the previous contender left dirty before the clock starts: on the
  // rotational disk, a run that follows a 1 GiB write otherwise pays the previous run's
  // writeback (the disk rows swung 1.3-8.5 s for one command), whichever tool wrote it.
  // Each contender still pays for its own writes and its own fsyncs inside its run.
  spawnSync('sync');
  await c.before?.();
  const cmd = c.command(host);
  const r = await runOnce(cmd, env);
  if (r.code !== 0) {
    await c.after?.(r).catch(() => {});
    const tail = r.stderr.trim().split('\n').slice(-3).join(' | ').slice(-400);
    throw new Error(`${c.name} exited ${r.code}: ${tail}`);
  }
  await c.after?.(r);
  return r;
}

/**
 * Run the contenders alternately (A B, then B A, ...) so drift in machine load hits each
 * side alike: `warmup` unrecorded rounds, then `runs` measured rounds.
 */
export async function measureAlternating(
  contenders: Contender[],
  options: AlternateOptions,
): Promise<Measured[]> {
  const results: RunResult[][] = contenders.map(() => []);
  const rounds = options.warmup + options.runs;
  for (let round = 0; round < rounds; round++) {
    const order = contenders.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const r = await once(contenders[i]!, options.host, options.env);
      const tag = round < options.warmup ? 'warm-up' : `run ${round - options.warmup + 1}`;
      options.log?.(
        `    ${contenders[i]!.name} ${tag}: ${(r.ms / 1000).toFixed(3)} s, rss ${r.rssKiB ?? '?'} KiB`,
      );
      if (round >= options.warmup) results[i]!.push(r);
    }
  }
  return contenders.map((c, i) => {
    const all = results[i]!;
    const ms = all.map((r) => r.ms);
    const rss = all.map((r) => r.rssKiB).filter((v): v is number => v !== undefined);
    return {
      name: c.name,
      runs: all.length,
      medianMs: median(ms),
      minMs: Math.min(...ms),
      maxMs: Math.max(...ms),
      peakRssKiB: rss.length ? Math.max(...rss) : undefined,
      last: all[all.length - 1]!,
      all,
    };
  });
}

/** Run one contender once, untimed, against `host` (used for the byte-counting run). */
export function runContenderOnce(c: Contender, host: string, env: EnvMode): Promise<RunResult> {
  return once(c, host, env);
}
