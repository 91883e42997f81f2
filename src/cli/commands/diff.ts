import type { Command } from 'commander';
import { toEntryJson } from '../../fs/index.js';
import { diffImages } from '../../image/index.js';
import { escapeName } from '../../tar/name-codec.js';
import { openCliImage } from '../cli-image.js';
import { openDiffSide } from '../diff-side.js';
import { printJson, printList } from '../format.js';
import { setFailureExitCode } from '../run-state.js';

/** `ocipeek diff REF1 REF2`: files added, removed and changed between two images. */
export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description(
      'paths added, removed and changed (size, mode, owner, link, content) between two images; exit 1 when they differ',
    )
    .argument('<image1>', 'the image before (a reference or any place)')
    .argument('<image2>', 'the image after')
    .option('--json', 'print JSON')
    .action(async (ref1: string, ref2: string, opts: { json?: boolean }, cmd: Command) => {
      setFailureExitCode(2);
      const a = await openCliImage(cmd, ref1);
      const b = await openCliImage(cmd, ref2);
      const [fa, fb] = await Promise.all([openDiffSide(a), openDiffSide(b)]);
      // Only the same-size files the rule cannot decide from their entries are read.
      const diff = await diffImages(fa, fb, { signal: a.ctx.signal });
      // As diff(1): 0 when the images are the same, 1 when they differ (2 is trouble).
      const differ = diff.added.length + diff.removed.length + diff.changed.length > 0;
      if (differ) process.exitCode = 1;
      if (opts.json || a.ctx.options.json) {
        return printJson({
          added: diff.added.map(toEntryJson),
          removed: diff.removed.map(toEntryJson),
          changed: diff.changed.map((c) => ({
            path: c.path,
            fields: c.fields,
            before: toEntryJson(c.before),
            after: toEntryJson(c.after),
          })),
        });
      }
      // As diff(1), nothing at all when the images are the same; a list, not spread
      // arguments, so that a diff of 150,000+ paths does not overflow the stack.
      printList([
        ...diff.added.map((e) => `+ ${escapeName(e.path)}`),
        ...diff.removed.map((e) => `- ${escapeName(e.path)}`),
        ...diff.changed.map((c) => `~ ${escapeName(c.path)} (${c.fields.join(', ')})`),
      ]);
    });
}
