import type { OpenedImage } from '../source/index.js';
import type { CliContext } from './context.js';
import { formatBytes, printJson, printLines, shortDigest, table } from './format.js';
import type { IndexFlags, WrittenIndex } from './index-artifact.js';

/** A per-layer column of the report: its JSON key, table heading, and how it prints. */
export interface IndexColumn {
  key: string;
  heading: string;
  kind: 'digest' | 'bytes' | 'count';
}

/** What `ocipeek index` built, in either format. */
export interface IndexReport {
  format: 'ocipeek' | 'soci';
  /** The artifact's manifest digest. */
  digest: string;
  /** Bytes of the artifact: its manifest and blobs. */
  indexBytes: number;
  seconds: number;
  columns: readonly IndexColumn[];
  /** One row a layer, keyed by the columns' keys. */
  layers: Array<Record<string, string | number>>;
  /** Layers that got no index, and why (soci's size floor). */
  skipped?: Array<{ layer: string; reason: string }>;
  /** What the summary line calls the artifact, if more than its size. */
  kind?: string;
}

/**
 * Print the report of `ocipeek index` (JSON with `--json`, else a table a layer and a
 * summary line), one shape for both formats.
 */
export function printIndexReport(
  ctx: CliContext,
  opts: IndexFlags,
  image: OpenedImage,
  written: WrittenIndex,
  report: IndexReport,
): void {
  const { target, referrers } = written;
  const imageBytes = image.layers.reduce((n, l) => n + l.descriptor.size, 0);
  if (opts.json || ctx.options.json) {
    printJson({
      format: report.format,
      image: image.name,
      subject: image.manifestDigest,
      digest: report.digest,
      destination: target,
      referrers,
      seconds: report.seconds,
      imageBytes,
      indexBytes: report.indexBytes,
      layers: report.layers,
      ...(report.skipped ? { skipped: report.skipped } : {}),
    });
    return;
  }
  const cell = (column: IndexColumn, value: string | number | undefined) =>
    column.kind === 'digest'
      ? shortDigest(String(value))
      : column.kind === 'bytes'
        ? formatBytes(Number(value))
        : String(value);
  const share = ((100 * report.indexBytes) / Math.max(imageBytes, 1)).toFixed(2);
  const kind = report.kind ? `${report.kind}, ` : '';
  printLines(
    table([
      report.columns.map((c) => c.heading),
      ...report.layers.map((row) => report.columns.map((c) => cell(c, row[c.key]))),
    ]),
    ...(report.skipped ?? []).map((s) => `no zTOC for ${shortDigest(s.layer)}: ${s.reason}`),
    `${target} ${report.digest} (${kind}${formatBytes(report.indexBytes)}, ${share}% of the image's layers)`,
  );
  if (referrers === 'tag') printLines(`listed in the referrers tag of ${image.manifestDigest}`);
}
