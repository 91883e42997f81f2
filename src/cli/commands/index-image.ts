import type { Command } from 'commander';
import { publishReferrer } from '../../artifact/index.js';
import { InvalidArgumentError } from '../../errors/index.js';
import { buildSeekIndex, writeSeekIndex } from '../../lazy/index.js';
import { openDestination } from '../../places/index.js';
import { parseReference } from '../../ref/index.js';
import { parsePlace } from '../../source/index.js';
import { parseSize } from '../../util/parse-size.js';
import { formatBytes, printJson, printLines, shortDigest, table } from '../format.js';
import { openCliImage } from '../image-source.js';

interface IndexFlags {
  span?: number;
  compressedSpan?: number;
  push?: boolean;
  output?: string;
  json?: boolean;
}

/**
 * `ocipeek index REF [--span 4MiB] [--compressed-span SIZE] [--push | -o PLACE]`: build a seek index of a gzip
 * image and publish it as the image's referrer, so that `ls`, `cat` and the rest read it
 * lazily.
 */
export function registerIndex(program: Command): void {
  program
    .command('index')
    .description(
      'build a seek index of a gzip image (checkpoints + file table) and publish it as a referrer, so it can be read lazily',
    )
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .option(
      '--span <size>',
      'uncompressed bytes between checkpoints, at most (default 4MiB)',
      parseSize,
    )
    .option(
      '--compressed-span <size>',
      'compressed bytes between checkpoints, at most (default 0.5% of the layer, at least 128KiB)',
      parseSize,
    )
    .option('--push', "push the index to the image's repository, as a referrer of the image")
    .option('-o, --output <place>', 'write the index artifact to a place instead (oci:DIR, …)')
    .option('--json', 'print JSON')
    .action(async (refArg: string, opts: IndexFlags, cmd: Command) => {
      if (opts.push === Boolean(opts.output)) {
        throw new InvalidArgumentError('say where the index goes: --push or -o PLACE');
      }
      const img = await openCliImage(cmd, refArg);
      const { ctx, image } = img;
      const started = performance.now();
      const built = await buildSeekIndex(image, {
        span: opts.span,
        compressedSpan: opts.compressedSpan,
        signal: ctx.signal,
      });
      const seconds = (performance.now() - started) / 1000;
      let target: string;
      let referrers: 'api' | 'tag' | undefined;
      if (opts.push) {
        const ref = parseReference(image.imageName ?? image.name);
        // Pushed by its own digest, untagged: it is found through its subject.
        const untagged = parseReference(`${ref.name}@${built.digest}`);
        const destination = await openDestination(parsePlace(untagged.toString()), {
          client: ctx.client,
          storeDir: ctx.options.store,
          signal: ctx.signal,
        });
        await writeSeekIndex(destination, built, { signal: ctx.signal });
        referrers = await publishReferrer(ctx.client, ref, image.manifestDigest, built.descriptor, {
          signal: ctx.signal,
        });
        target = ref.name;
      } else {
        const destination = await openDestination(opts.output!, {
          client: ctx.client,
          storeDir: ctx.options.store,
          signal: ctx.signal,
        });
        await writeSeekIndex(destination, built, { signal: ctx.signal });
        target = opts.output!;
      }
      const imageBytes = image.layers.reduce((n, l) => n + l.descriptor.size, 0);
      const indexBytes = built.blobs.reduce(
        (n, b) => n + b.bytes.length + b.records.bytes.length,
        built.manifest.length,
      );
      if (opts.json || ctx.options.json) {
        return printJson({
          image: image.name,
          subject: image.manifestDigest,
          digest: built.digest,
          destination: target,
          referrers,
          seconds,
          imageBytes,
          indexBytes,
          layers: built.blobs.map((b) => ({
            layer: b.index.layer.digest,
            digest: b.descriptor.digest,
            size: b.descriptor.size,
            records: b.records.descriptor.size,
            checkpoints: b.index.checkpoints.length,
            entries: b.index.entries.length,
          })),
        });
      }
      printLines(
        table([
          ['LAYER', 'TABLE', 'SIZE', 'RECORDS', 'CHECKPOINTS', 'ENTRIES'],
          ...built.blobs.map((b) => [
            shortDigest(b.index.layer.digest),
            shortDigest(b.descriptor.digest),
            formatBytes(b.descriptor.size),
            formatBytes(b.records.descriptor.size),
            String(b.index.checkpoints.length),
            String(b.index.entries.length),
          ]),
        ]),
        `${target} ${built.digest} (${formatBytes(indexBytes)}, ${((100 * indexBytes) / Math.max(imageBytes, 1)).toFixed(2)}% of the image's layers)`,
      );
      if (referrers === 'tag') printLines(`listed in the referrers tag of ${image.manifestDigest}`);
    });
}
