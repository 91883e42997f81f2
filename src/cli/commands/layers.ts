import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import {
  checkEfficiency,
  DIVE_CI_DEFAULTS,
  type EfficiencyLimits,
  type EfficiencyRuleResult,
} from '../../fs/efficiency-rules.js';
import { layerReport } from '../../image/index.js';
import { escapeName } from '../../tar/name-codec.js';
import { parseSize } from '../../util/parse-size.js';
import { cliFilesystem, openCliImage } from '../cli-image.js';
import { formatBytes, printJson, printLines, shortDigest, table } from '../format.js';
import { cliIndexedFilesystem } from '../lazy-image.js';

/** `ocipeek layers REF`: what each layer did and how much space the image wastes. */
export function registerLayers(program: Command): void {
  program
    .command('layers')
    .description(
      'per layer: sizes, the build step, files added/modified/deleted; wasted bytes and efficiency (as dive)',
    )
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .option('--json', 'print JSON')
    .option(
      '--ci',
      'judge wasted space as dive --ci does and exit 1 when a rule fails (defaults: --lowest-efficiency 0.9 --highest-user-wasted-percent 0.1)',
    )
    .option(
      '--lowest-efficiency <ratio>',
      'fail below this efficiency (a ratio: 0.9, or 90%)',
      parseRatio,
    )
    .option(
      '--highest-wasted-bytes <size>',
      'fail above this many wasted bytes (e.g. 20MB; units binary: M = MiB)',
      parseLimitSize,
    )
    .option(
      '--highest-user-wasted-percent <ratio>',
      'fail when wasted bytes exceed this share of the user layers (0.1, or 10%)',
      parseRatio,
    )
    .action(async (refArg: string, opts: LayersFlags, cmd: Command) => {
      const img = await openCliImage(cmd, refArg);
      // A seek index gives every layer's entries and tar size: no layer byte is read.
      const built = (await cliIndexedFilesystem(img)) ?? (await cliFilesystem(img));
      const summary = layerReport(img.image, built.fs, built.tarSizes);
      const ci = ciLimits(opts);
      const rules = ci ? checkEfficiency(built.fs.efficiency(), ci) : undefined;
      if (rules?.some((r) => !r.passed)) process.exitCode = 1;
      if (opts.json || img.ctx.options.json)
        return printJson(rules ? { ...summary, rules } : summary);
      const rows = [
        ['#', 'DIGEST', 'COMPRESSED', 'SIZE', '+ADDED', '~MODIFIED', '-DELETED', 'CREATED BY'],
      ];
      for (const l of summary.layers) {
        const by = (l.createdBy ?? '').replace(/\s+/g, ' ');
        rows.push([
          String(l.index),
          shortDigest(l.digest),
          formatBytes(l.compressedSize),
          formatBytes(l.uncompressedSize ?? 0),
          String(l.filesAdded),
          String(l.filesModified),
          String(l.filesDeleted),
          by.length > 60 ? `${by.slice(0, 57)}...` : by,
        ]);
      }
      printLines(
        table(rows),
        '',
        `Efficiency: ${(summary.efficiency * 100).toFixed(2)}%   Wasted: ${formatBytes(summary.wastedBytes)} (${(summary.wastedUserPercent * 100).toFixed(2)}% of the user layers)   Overwritten or deleted: ${formatBytes(summary.shadowedBytes)}`,
      );
      if (summary.inefficiencies.length) {
        printLines(
          '',
          table([
            ['COUNT', 'TOTAL', 'PATH'],
            ...summary.inefficiencies
              .slice(0, 10)
              .map((x) => [String(x.count), formatBytes(x.cumulativeSize), escapeName(x.path)]),
          ]),
        );
      }
      if (rules) printLines('', ...rules.map(formatRule), ciVerdict(rules));
    });
}

interface LayersFlags {
  json?: boolean;
  ci?: boolean;
  lowestEfficiency?: number;
  highestWastedBytes?: number;
  highestUserWastedPercent?: number;
}

/** The limits to judge by: dive's CI defaults, each replaced by a flag given. */
function ciLimits(opts: LayersFlags): EfficiencyLimits | undefined {
  const given: EfficiencyLimits = {};
  if (opts.lowestEfficiency !== undefined) given.lowestEfficiency = opts.lowestEfficiency;
  if (opts.highestWastedBytes !== undefined) given.highestWastedBytes = opts.highestWastedBytes;
  if (opts.highestUserWastedPercent !== undefined) {
    given.highestUserWastedPercent = opts.highestUserWastedPercent;
  }
  if (!opts.ci) {
    if (Object.keys(given).length === 0) return undefined;
    throw new InvalidArgumentError('the efficiency limits apply with --ci');
  }
  return { ...DIVE_CI_DEFAULTS, ...given };
}

function formatRule(r: EfficiencyRuleResult): string {
  const show =
    r.rule === 'highestWastedBytes' ? formatBytes : (n: number) => `${(n * 100).toFixed(2)}%`;
  return `  ${r.passed ? 'PASS' : 'FAIL'}: ${r.rule}: ${show(r.actual)} (limit ${show(r.limit)})`;
}

function ciVerdict(rules: EfficiencyRuleResult[]): string {
  const failed = rules.filter((r) => !r.passed).length;
  return `Result: ${failed ? 'FAIL' : 'PASS'} [Total: ${rules.length}] [Passed: ${rules.length - failed}] [Failed: ${failed}]`;
}

/**
 * A ratio as dive takes it (`0.9`), or a percentage (`90%`). Not capped at 1: waste can
 * exceed the user layers' size (a file rewritten by several small layers).
 */
function parseRatio(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected a ratio such as 0.9 or 90%, got "${value}"`);
  return Number(m[1]) / (m[2] ? 100 : 1);
}

/** A byte limit; `0` allows no waste at all. */
function parseLimitSize(value: string): number {
  return value.trim() === '0' ? 0 : parseSize(value);
}
