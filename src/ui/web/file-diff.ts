import { createRequire } from 'node:module';
import type { StructuredPatchHunk } from 'diff';
import type { FilePreview } from './file-preview.js';

/** One side of a file comparison: what the head read from it says. */
export interface FileDiffSide {
  size: number;
  kind: 'text' | 'binary';
  /** The file goes on past what was compared. */
  truncated: boolean;
}

/** How two versions of a file differ in content. */
export interface TextDiff {
  /** `identical`: the heads read are equal; `text`: `hunks` say how; `binary`: one side is not text; `too-many`: more changed lines than are shown. */
  result: 'identical' | 'text' | 'binary' | 'too-many';
  /** Unified-diff hunks (3 lines of context): lines start with ` `, `-` or `+`. */
  hunks: StructuredPatchHunk[];
}

/** Changed lines past which a diff is not worked out (the heads are 64 KiB at most). */
const MAX_EDIT_LENGTH = 5000;

type DiffLibrary = typeof import('diff');
let loaded: DiffLibrary | undefined;

/**
 * jsdiff (the `diff` package, BSD-3-Clause), required on first use like highlight.js: only
 * a file comparison needs it, so it stays out of the CLI bundle.
 */
function diffLibrary(): DiffLibrary {
  loaded ??= createRequire(import.meta.url)('diff') as DiffLibrary;
  return loaded;
}

/**
 * The text diff of two file heads (a file absent on one side is empty text there). A
 * side that is binary gives `binary`: its bytes are not shown as lines.
 */
export function textDiff(
  before: FilePreview | undefined,
  after: FilePreview | undefined,
): TextDiff {
  if (before?.kind === 'binary' || after?.kind === 'binary') {
    const same = before !== undefined && after !== undefined && before.head.equals(after.head);
    return { result: same ? 'identical' : 'binary', hunks: [] };
  }
  const a = before?.head.toString('utf8') ?? '';
  const b = after?.head.toString('utf8') ?? '';
  if (a === b) return { result: 'identical', hunks: [] };
  const patch = diffLibrary().structuredPatch('a', 'b', a, b, undefined, undefined, {
    context: 3,
    maxEditLength: MAX_EDIT_LENGTH,
  });
  return patch ? { result: 'text', hunks: patch.hunks } : { result: 'too-many', hunks: [] };
}
