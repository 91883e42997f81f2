import { type ByteSink, LineWriter } from './line-writer.js';

/** Human-readable byte count (binary units), e.g. `1.5 MiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return String(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** Render rows as left-aligned columns separated by two spaces. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Print a value as indented JSON on stdout (or `out`). */
export function printJson(value: unknown, out: ByteSink = process.stdout): void {
  out.write(Buffer.from(`${JSON.stringify(value, null, 2)}\n`));
}

/** Print a few lines on stdout (for lists of any length, use {@link printList}). */
export function printLines(...lines: string[]): void {
  if (lines.length === 0) return; // no lines: not one empty line (as printList)
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * Print a list of lines of any length, in batches of bytes. Spreading a list into
 * `printLines(...lines)` fails with "Maximum call stack size exceeded" past ~150,000
 * arguments (an `ls -R` of a large image), and one joined string of the whole list
 * costs its size again in memory.
 */
export function printList(lines: readonly string[], out: ByteSink = process.stdout): void {
  const writer = new LineWriter(out);
  for (const line of lines) writer.line(line);
  writer.end();
}

const SPACES = ' '.repeat(256);

/** `n` spaces (`padEnd` builds a new padded copy of every cell). */
export function spaces(n: number): string {
  return n <= SPACES.length ? SPACES.slice(0, n) : ' '.repeat(n);
}

/**
 * Prints rows as {@link table} lays them out, for tables too big to keep: every row is
 * `measure`d first (column widths), then `print`ed, and rows are written in batches. The
 * rows themselves need not be kept between the two passes, so a caller that can produce
 * them twice (`ls -R -l` walks the tree twice) keeps nothing per row: for the ~55,000 rows
 * of an application image, rows kept from the first pass to the second were what the
 * garbage collector spent its time copying. Lines go out through a {@link LineWriter}.
 * The last column is not padded or trimmed, so a name ending in a space keeps it.
 */
export class TablePrinter {
  private readonly widths: number[] = [];
  private readonly writer: LineWriter;

  constructor(out: ByteSink = process.stdout) {
    this.writer = new LineWriter(out);
  }

  /** First pass: widen the columns to fit `row`. */
  measure(row: readonly string[]): void {
    const widths = this.widths;
    for (let i = 0; i < row.length; i++) {
      const w = row[i]!.length;
      if (w > (widths[i] ?? 0)) widths[i] = w;
    }
  }

  /** Second pass: print `row` (after every row was measured). */
  print(row: readonly string[]): void {
    let line = '';
    const last = row.length - 1;
    for (let i = 0; i < last; i++) {
      const cell = row[i]!;
      line += cell + spaces(this.widths[i]! - cell.length + 2);
    }
    const end = row[last] ?? '';
    this.writer.line(end === '' ? line.trimEnd() : line + end);
  }

  /** Write what is still gathered. */
  end(): void {
    this.writer.end();
  }
}

/** Print rows as {@link table} lays them out, in batches (see {@link TablePrinter}). */
export function printTable(
  rows: readonly (readonly string[])[],
  out: ByteSink = process.stdout,
): void {
  const printer = new TablePrinter(out);
  for (const row of rows) printer.measure(row);
  for (const row of rows) printer.print(row);
  printer.end();
}

/** Shorten a digest for tables: `sha256:0123456789ab`. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return colon < 0 ? digest : digest.slice(0, colon + 13);
}
