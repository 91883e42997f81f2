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

/** Print a value as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Print a few lines on stdout (for lists of any length, use {@link printList}). */
export function printLines(...lines: string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Lines handed to one `write` call: ~1 MB of text, whatever the list's length. */
const LINES_PER_WRITE = 16_384;

/**
 * Print a list of lines of any length, in batches. Spreading a list into
 * `printLines(...lines)` fails with "Maximum call stack size exceeded" past ~150,000
 * arguments (an `ls -R` of a large image), and one joined string of the whole list
 * costs its size again in memory.
 */
export function printList(
  lines: readonly string[],
  out: { write(text: string): unknown } = process.stdout,
): void {
  for (let i = 0; i < lines.length; i += LINES_PER_WRITE) {
    out.write(`${lines.slice(i, i + LINES_PER_WRITE).join('\n')}\n`);
  }
}

const SPACES = ' '.repeat(256);

/** `n` spaces (`padEnd` builds a new padded copy of every cell). */
function spaces(n: number): string {
  return n <= SPACES.length ? SPACES.slice(0, n) : ' '.repeat(n);
}

/**
 * Print rows as {@link table} lays them out, in batches: for the ~55,000 rows of an
 * `ls -R -l` of an application image, padding every cell and joining one string of the
 * whole table cost ~0.1 s and its size again in memory. The last column is not trimmed,
 * so a name ending in a space keeps it.
 */
export function printTable(
  rows: readonly (readonly string[])[],
  out: { write(text: string): unknown } = process.stdout,
): void {
  const widths: number[] = [];
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      const w = row[i]!.length;
      if (w > (widths[i] ?? 0)) widths[i] = w;
    }
  }
  let batch = '';
  let count = 0;
  for (const row of rows) {
    let line = '';
    const last = row.length - 1;
    for (let i = 0; i < last; i++) {
      const cell = row[i]!;
      line += cell + spaces(widths[i]! - cell.length + 2);
    }
    const end = row[last] ?? '';
    batch += end === '' ? `${line.trimEnd()}\n` : `${line}${end}\n`;
    if (++count === LINES_PER_WRITE) {
      out.write(batch);
      batch = '';
      count = 0;
    }
  }
  if (batch !== '') out.write(batch);
}

/** Shorten a digest for tables: `sha256:0123456789ab`. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return colon < 0 ? digest : digest.slice(0, colon + 13);
}
