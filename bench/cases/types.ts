import type { Corpus, CorpusImage } from '../corpus/index.js';
import type { CountingProxy } from '../counting-proxy.js';
import type { Variant } from '../variants.js';

/** What every case gets. */
export interface CaseContext {
  corpus: Corpus;
  /** `127.0.0.1:PORT` of the registry; images are `HOST/bench/NAME:latest`. */
  host: string;
  proxy: CountingProxy;
  warmup: number;
  runs: number;
  quick: boolean;
  /** The bench cache folder (corpus, JS peer). */
  cache: string;
  /** A scratch folder on the same disk as the cache, emptied at the end. */
  scratch: string;
  /** The variant this run of the case measures (medium and environment). */
  variant: Variant;
  /** The scratch folder on the variant's medium: where contenders write. */
  dir: string;
  /**
   * ocipeek's HOME on the variant's medium, without credentials, kept for the whole bench
   * run so its V8 code cache persists like a user's (the warm-up run writes it).
   */
  home: string;
  /** Results of the cases run before this one. */
  done: CaseResult[];
  log: (line: string) => void;
}

/** One tool's figures in a row. */
export interface Side {
  name: string;
  runs: number;
  medianS: number;
  minS: number;
  maxS: number;
  /** Highest peak RSS over the measured runs, MB (10^6 bytes). */
  peakRssMB?: number;
  /** Bytes this side fetched (ocipeek's `--stats`, or the counting proxy for peers). */
  bytesFetched?: number;
  requests?: number;
  /** Lines the last measured run printed on stdout. */
  lines?: number;
}

/** One line of a case's table: ocipeek against one peer, or a single figure. */
export interface Row {
  label: string;
  /** The variant measured (`tmpfs/user`...), set by the runner. */
  variant?: string;
  /** A single judged figure (peak RSS, a start-up time), shown in place of the ratio. */
  amount?: { value: number; unit: string };
  ocipeek?: Side;
  peer?: Side;
  /** ocipeek median / peer median, or the median of paired per-round ratios (noted). */
  ratio?: number;
  /** The committed target in words, e.g. `≤ 0.5× skopeo`. */
  target?: string;
  /** Whether the target was met (undefined: nothing to judge). */
  met?: boolean;
  notes: string[];
  /** Named figures of a row that is a count rather than a race (shown as its own table). */
  figures?: Record<string, string | number>;
}

/** The outcome of one case. */
export interface CaseResult {
  id: string;
  title: string;
  peer: string;
  target: string;
  /** {@link BenchCase.method}. */
  method?: string;
  status: 'ok' | 'skipped' | 'failed';
  /** Why it was skipped or failed. */
  reason?: string;
  /** The variants it ran in. */
  variants?: string[];
  /** Variants that failed, with the reason. */
  errors?: Record<string, string>;
  rows: Row[];
  /** When an earlier run measured it (set on cases a `--only` run kept from the last report). */
  measured?: string;
}

/** The corpus images a case pulls from the registry (`big` is this run's big image). */
export type ImageNeed = 'debian' | 'app' | 'big' | 'debian-zstd';

/** A benchmark case. */
export interface BenchCase {
  id: string;
  title: string;
  peer: string;
  target: string;
  /** How the figures are taken and judged, when the title and target do not say (the report prints it). */
  method?: string;
  /** The variants it runs in by default (`--variants` overrides). */
  variants: readonly Variant[];
  /**
   * Measured runs at least, unless `--runs` is given: short commands need many runs for a
   * stable median.
   */
  minRuns?: number;
  /** Images it needs in the registry. */
  needs: readonly ImageNeed[];
  /**
   * Computed from earlier cases' rows (no runs of its own): runs once, after them, and its
   * rows carry their own variants.
   */
  derived?: boolean;
  /** Resolve to rows, or throw {@link Skip} when what it needs does not exist yet. */
  run(ctx: CaseContext): Promise<Row[]>;
}

/** Thrown by a case that cannot run here (command not built yet, tool missing). */
export class Skip extends Error {}

/** This run's big image (a case that needs it declares `needs: ['big']`). */
export function bigOf(ctx: CaseContext): CorpusImage {
  if (!ctx.corpus.big) throw new Skip('the big image was not built for this run');
  return ctx.corpus.big;
}

/** `HOST/bench/NAME:latest`. */
export function refOf(ctx: CaseContext, name: string, host = ctx.host): string {
  return `${host}/bench/${name}:latest`;
}
