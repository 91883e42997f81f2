import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { buildSeekIndex, writeSeekIndex } from '../../lazy/index.js';
import { parseSize } from '../../util/parse-size.js';
import { openCliImage } from '../cli-image.js';
import { type IndexFlags, writeIndexArtifact } from '../index-artifact.js';
import { printIndexReport } from '../index-report.js';
import { indexSoci } from '../index-soci.js';

/**
 * `ocipeek index REF [--format ocipeek|soci] [--span 4MiB] [--compressed-span SIZE]
 * [--min-layer-size SIZE] [--push | -o PLACE]`: build a seek index of a gzip image and
 * publish it as the image's referrer, so that `ls`, `cat` and the rest read it lazily
 * (`ocipeek`, the default), or SOCI's zTOCs and index, for soci-snapshotter (`soci`).
 */
export function registerIndex(program: Command): void {
  program
    .command('index')
    .description(
      'build a seek index of a gzip image (checkpoints + file table) and publish it as a referrer, so it can be read lazily',
    )
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .option(
      '--format <format>',
      "ocipeek (this project's index, read by ls/cat/…) or soci (zTOCs and a SOCI index v1, for soci-snapshotter)",
      'ocipeek',
    )
    .option(
      '--span <size>',
      'uncompressed bytes between checkpoints, at most (default 4MiB; soci: a checkpoint once more than this)',
      parseSize,
    )
    .option(
      '--compressed-span <size>',
      'compressed bytes between checkpoints, at most (default 0.5% of the layer, at least 128KiB)',
      parseSize,
    )
    .option(
      '--min-layer-size <size>',
      'soci: layers smaller than this get no zTOC (default 10MiB, as soci)',
      parseSize,
    )
    .option('--push', "push the index to the image's repository, as a referrer of the image")
    .option('-o, --output <place>', 'write the index artifact to a place instead (oci:DIR, …)')
    .option('--json', 'print JSON')
    .action(async (refArg: string, opts: IndexFlags, cmd: Command) => {
      if (opts.push === Boolean(opts.output)) {
        throw new InvalidArgumentError('say where the index goes: --push or -o PLACE');
      }
      if (opts.format !== 'ocipeek' && opts.format !== 'soci') {
        throw new InvalidArgumentError(`--format is ocipeek or soci, not "${opts.format}"`);
      }
      const notApplicable = opts.format === 'soci' ? '--compressed-span' : '--min-layer-size';
      if (
        opts.format === 'soci' ? opts.compressedSpan !== undefined : opts.minLayerSize !== undefined
      ) {
        throw new InvalidArgumentError(
          `${notApplicable} does not apply to --format ${opts.format}`,
        );
      }
      const img = await openCliImage(cmd, refArg);
      if (opts.format === 'soci') return indexSoci(img, opts);
      const { ctx, image } = img;
      const started = performance.now();
      const built = await buildSeekIndex(image, {
        span: opts.span,
        compressedSpan: opts.compressedSpan,
        signal: ctx.signal,
      });
      const seconds = (performance.now() - started) / 1000;
      const written = await writeIndexArtifact(ctx, image, opts, built, (d) =>
        writeSeekIndex(d, built, { signal: ctx.signal }),
      );
      printIndexReport(ctx, opts, image, written, {
        format: 'ocipeek',
        digest: built.digest,
        indexBytes: built.blobs.reduce(
          (n, b) => n + b.bytes.length + b.records.bytes.length,
          built.manifest.length,
        ),
        seconds,
        columns: [
          { key: 'layer', heading: 'LAYER', kind: 'digest' },
          { key: 'digest', heading: 'TABLE', kind: 'digest' },
          { key: 'size', heading: 'SIZE', kind: 'bytes' },
          { key: 'records', heading: 'RECORDS', kind: 'bytes' },
          { key: 'checkpoints', heading: 'CHECKPOINTS', kind: 'count' },
          { key: 'entries', heading: 'ENTRIES', kind: 'count' },
        ],
        layers: built.blobs.map((b) => ({
          layer: b.index.layer.digest,
          digest: b.descriptor.digest,
          size: b.descriptor.size,
          records: b.records.descriptor.size,
          checkpoints: b.index.checkpoints.length,
          entries: b.index.entries.length,
        })),
      });
    });
}
