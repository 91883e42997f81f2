import type { Command } from 'commander';
import { historySteps } from '../../image/history.js';
import { resolveImage } from '../../source/index.js';
import { contextFor } from '../context.js';
import { formatBytes, printJson, printLines, shortDigest, table } from '../format.js';
import { openCliSource } from '../image-source.js';

/** `ocipeek history REF`: the build steps and the layers they made. */
export function registerHistory(program: Command): void {
  program
    .command('history')
    .description('show the build steps (created by, empty-layer marker, created, layer size)')
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .option('--json', 'print JSON')
    .option('--no-trunc', 'do not shorten the commands')
    .action(async (refArg: string, opts: { json?: boolean; trunc: boolean }, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const img = await resolveImage(await openCliSource(cmd, refArg), {
        platform: ctx.platform,
        signal: ctx.signal,
      });
      const steps = historySteps(img.config!, img.image.manifest);
      if (opts.json || ctx.options.json) return printJson(steps);
      const rows = [['CREATED', 'LAYER', 'SIZE', 'CREATED BY']];
      for (const s of steps) {
        const by = s.createdBy.replace(/\s+/g, ' ');
        rows.push([
          s.created ?? '-',
          s.emptyLayer ? '(empty)' : s.layerDigest ? shortDigest(s.layerDigest) : '(missing)',
          s.emptyLayer ? '0 B' : formatBytes(s.size),
          opts.trunc && by.length > 80 ? `${by.slice(0, 77)}...` : by,
        ]);
      }
      printLines(table(rows));
    });
}
