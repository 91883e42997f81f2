import type { Command } from 'commander';
import { historySteps } from '../../image/index.js';
import { escapeName } from '../../tar/name-codec.js';
import { formatBytes, printJson, printLines, shortDigest, table } from '../format.js';
import { cliFilesystem, openCliImage } from '../image-source.js';

/** `ocipeek layers REF`: what each layer did and how much space the image wastes. */
export function registerLayers(program: Command): void {
  program
    .command('layers')
    .description(
      'per layer: sizes, the build step, files added/modified/deleted; wasted bytes and efficiency (as dive)',
    )
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .option('--json', 'print JSON')
    .action(async (refArg: string, opts: { json?: boolean }, cmd: Command) => {
      const img = await openCliImage(cmd, refArg);
      const built = await cliFilesystem(img);
      const steps = historySteps(img.image.config, img.image.manifest).filter((s) => !s.emptyLayer);
      const eff = built.fs.efficiency();
      const layers = built.layers.map((s, i) => ({
        index: i,
        digest: s.digest,
        mediaType: img.image.layers[i]!.descriptor.mediaType,
        compressedSize: img.image.layers[i]!.descriptor.size,
        uncompressedSize: built.tarSizes[i]!,
        createdBy: steps[i]?.createdBy ?? null,
        entries: s.entries,
        filesAdded: s.filesAdded,
        filesModified: s.filesModified,
        filesDeleted: s.filesDeleted,
        bytesAdded: s.bytesAdded,
        bytesModified: s.bytesModified,
        bytesDeleted: s.bytesDeleted,
      }));
      const summary = {
        name: img.image.name,
        digest: img.image.manifestDigest,
        layers,
        efficiency: eff.efficiency,
        wastedBytes: eff.wastedBytes,
        wastedUserPercent: eff.wastedUserPercent,
        shadowedBytes: eff.shadowedBytes,
        inefficiencies: eff.inefficiencies.slice(0, 20),
      };
      if (opts.json || img.ctx.options.json) return printJson(summary);
      const rows = [
        ['#', 'DIGEST', 'COMPRESSED', 'SIZE', '+ADDED', '~MODIFIED', '-DELETED', 'CREATED BY'],
      ];
      for (const l of layers) {
        const by = (l.createdBy ?? '').replace(/\s+/g, ' ');
        rows.push([
          String(l.index),
          shortDigest(l.digest),
          formatBytes(l.compressedSize),
          formatBytes(l.uncompressedSize),
          String(l.filesAdded),
          String(l.filesModified),
          String(l.filesDeleted),
          by.length > 60 ? `${by.slice(0, 57)}...` : by,
        ]);
      }
      printLines(
        table(rows),
        '',
        `Efficiency: ${(eff.efficiency * 100).toFixed(2)}%   Wasted: ${formatBytes(eff.wastedBytes)} (${(eff.wastedUserPercent * 100).toFixed(2)}% of the user layers)   Overwritten or deleted: ${formatBytes(eff.shadowedBytes)}`,
      );
      if (eff.inefficiencies.length) {
        printLines(
          '',
          table([
            ['COUNT', 'TOTAL', 'PATH'],
            ...eff.inefficiencies
              .slice(0, 10)
              .map((x) => [String(x.count), formatBytes(x.cumulativeSize), escapeName(x.path)]),
          ]),
        );
      }
    });
}
