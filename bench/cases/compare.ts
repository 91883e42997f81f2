import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  type Contender,
  type Measured,
  measureAlternating,
  median,
  runContenderOnce,
} from '../measure.js';
import { statsOf } from '../ocipeek.js';
import type { CaseContext, Row, Side } from './types.js';

let dirSeq = 0;

/** A fresh empty folder under `base` for one run; `remove()` afterwards. */
export function freshDir(base: string, prefix: string) {
  const dir = path.join(base, `${prefix}-${process.pid}-${dirSeq++}`);
  return {
    dir,
    make: async () => {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Figures of one measured contender; bytes from `--stats` for ocipeek, else given. */
export function sideOf(m: Measured, bytes?: { bytes: number; requests: number }): Side {
  const stats = statsOf(m.last);
  return {
    name: m.name,
    runs: m.runs,
    medianS: m.medianMs / 1000,
    minS: m.minMs / 1000,
    maxS: m.maxMs / 1000,
    peakRssMB: m.peakRssKiB === undefined ? undefined : (m.peakRssKiB * 1024) / 1e6,
    bytesFetched: stats?.bytesFetched ?? bytes?.bytes,
    requests: stats?.requests ?? bytes?.requests,
    lines: m.last.stdoutLines,
  };
}

/** Run `c` once through the counting proxy (untimed) and return what it fetched. */
export async function countBytes(ctx: CaseContext, c: Contender) {
  ctx.proxy.reset();
  await runContenderOnce(c, ctx.proxy.host, ctx.variant.env);
  const counts = ctx.proxy.counts();
  return { bytes: counts.bytes, requests: counts.requests, counts };
}

/** Options for {@link compare}. */
export interface CompareOptions {
  label: string;
  ocipeek: Contender;
  /** One or more peers, each compared with ocipeek in its own row. */
  peers: { contender: Contender; target?: number; targetText?: string; countBytes?: boolean }[];
  /**
   * `paired`: the ratio is the median over rounds of ocipeek's run ÷ the peer's run of the
   * same round (run back to back, see {@link measureAlternating}), so a change of machine
   * load between rounds cancels out; the ratio of medians is noted beside it. Default
   * `medians`: the ratio of the two medians.
   */
  ratio?: 'medians' | 'paired';
}

/** The median over rounds of `mine`'s run ÷ `peer`'s run in the same round. */
export function pairedRatio(mine: Measured, peer: Measured): number {
  if (mine.all.length !== peer.all.length) throw new Error('paired runs differ in number');
  return median(mine.all.map((r, i) => r.ms / peer.all[i]!.ms));
}

/**
 * Measure ocipeek and its peers alternately and make one row per peer with the ratio (of
 * medians, or paired: {@link CompareOptions.ratio}) against the target (`ratio ≤ target`).
 * Peers' bytes come from one extra untimed run through the counting proxy.
 */
export async function compare(ctx: CaseContext, o: CompareOptions): Promise<Row[]> {
  ctx.log(`  ${o.label}`);
  const measured = await measureAlternating([o.ocipeek, ...o.peers.map((p) => p.contender)], {
    host: ctx.host,
    env: ctx.variant.env,
    warmup: ctx.warmup,
    runs: ctx.runs,
    log: ctx.log,
  });
  const mine = sideOf(measured[0]!);
  const rows: Row[] = [];
  for (const [i, p] of o.peers.entries()) {
    const counted = p.countBytes === false ? undefined : await countBytes(ctx, p.contender);
    const peer = sideOf(measured[i + 1]!, counted);
    const ofMedians = mine.medianS / peer.medianS;
    const paired = o.ratio === 'paired';
    const ratio = paired ? pairedRatio(measured[0]!, measured[i + 1]!) : ofMedians;
    rows.push({
      label: o.label,
      ocipeek: mine,
      peer,
      ratio,
      target: p.targetText ?? (p.target === undefined ? undefined : `≤ ${p.target}×`),
      met: p.target === undefined ? undefined : ratio <= p.target,
      notes: paired
        ? [
            `vs ${peer.name}: ${ratio.toFixed(2)}× is the median of per-round ratios (paired runs); ratio of medians ${ofMedians.toFixed(2)}×`,
          ]
        : [],
    });
  }
  return rows;
}
