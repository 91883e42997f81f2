import type { TomlTable } from './toml-fields.js';

/**
 * One line of the shape {@link parseSimpleToml} reads: blank, a `[table]` header with a
 * bare name, or a key (bare, or a basic string without escapes) set to a basic string
 * without escapes; then an optional comment. The character classes are TOML's (control
 * characters other than tab are refused in strings and comments); a tab inside a string
 * is left to the full parser. The blanks after a header or value belong to it: with one
 * run of blanks each side of the optional part, a line of blanks that does not match was
 * split between the two every way before failing (quadratic: a 300 KB line took a minute).
 */
const LINE =
  /^[ \t]*(?:(?:\[[ \t]*([A-Za-z0-9_-]+)[ \t]*\]|(?:"([^"\\\x00-\x1f\x7f]*)"|([A-Za-z0-9_-]+))[ \t]*=[ \t]*"([^"\\\x00-\x1f\x7f]*)")[ \t]*)?(?:#[^\x00-\x08\x0a-\x1f\x7f]*)?$/;

/**
 * The table smol-toml's `parse` returns for `text`, when `text` is only string keys set to
 * plain strings, at the top and in at most one `[table]` (what a shortnames.conf drop-in
 * holds: `[aliases]` and ~60 `"name" = "registry/repository"` lines), with `\n` line
 * breaks; undefined for anything else (then the caller parses with smol-toml, which also
 * reports every error). Never throws: a duplicate key, a second header or a header naming
 * a key already set are left to smol-toml to refuse.
 *
 * Why: smol-toml reads a file one character a call, and for Debian's 3.4 KB
 * shortnames.conf that cost every remote command ~11 M instructions, ~6 % of an
 * `inspect` (bench/ANALYSIS.md, h15r, tenth session). Here each line is one regular
 * expression match. The result is built as smol-toml builds it (objects without a
 * prototype, keys in file order), which the unit tests check against smol-toml.
 */
export function parseSimpleToml(text: string): TomlTable | undefined {
  if (text.includes('\r')) return undefined;
  const root: TomlTable = Object.create(null);
  let table = root;
  let headers = 0;
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) return undefined;
    const [, header, quotedKey, bareKey, value] = m;
    if (header !== undefined) {
      if (++headers > 1 || Object.hasOwn(root, header) || header === '__proto__') return undefined;
      table = Object.create(null);
      root[header] = table;
    } else if (value !== undefined) {
      const key = (quotedKey ?? bareKey) as string;
      if (Object.hasOwn(table, key) || key === '__proto__') return undefined;
      table[key] = value;
    }
  }
  return root;
}
