import type { Command } from 'commander';
import { convertToEstargz } from '../../convert/index.js';
import { InvalidArgumentError } from '../../errors/index.js';
import { openDestination } from '../../places/index.js';
import { formatBytes, printJson, printLines, shortDigest, table } from '../format.js';
import { openCliImage } from '../image-source.js';
import { parseCount } from '../parse-count.js';

/** `ocipeek convert REF DST --estargz`: write a lazily readable (eStargz) copy of an image. */
export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description(
      'write an eStargz version of an image (still an ordinary gzip image) to DST: REF, oci:DIR[:TAG], store:REF, …',
    )
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .argument('<dst>', 'where the converted image goes')
    .option('--estargz', 'convert to eStargz (the only format for now)')
    .option(
      '--chunk-size <bytes>',
      'largest gzip member of file content (default 4194304)',
      parseCount,
    )
    .option('--json', 'print JSON')
    .action(
      async (
        refArg: string,
        dst: string,
        opts: { estargz?: boolean; chunkSize?: number; json?: boolean },
        cmd: Command,
      ) => {
        if (!opts.estargz) throw new InvalidArgumentError('say which format: --estargz');
        const img = await openCliImage(cmd, refArg);
        const { ctx } = img;
        const destination = await openDestination(dst, {
          client: ctx.client,
          storeDir: ctx.options.store,
          imageName: img.image.imageName,
          signal: ctx.signal,
        });
        const result = await convertToEstargz(img.image, destination, {
          chunkSize: opts.chunkSize,
          signal: ctx.signal,
        });
        if (opts.json || ctx.options.json) {
          return printJson({
            ref: img.image.name,
            destination: dst,
            digest: result.digest,
            layers: result.layers.map((l) => ({
              index: l.index,
              from: l.from.digest,
              digest: l.to.digest,
              size: l.to.size,
              diffId: l.diffId,
              tocDigest: l.tocDigest,
            })),
          });
        }
        printLines(
          table([
            ['LAYER', 'FROM', 'ESTARGZ', 'SIZE'],
            ...result.layers.map((l) => [
              String(l.index),
              shortDigest(l.from.digest),
              shortDigest(l.to.digest),
              formatBytes(l.to.size),
            ]),
          ]),
          `${dst} ${result.digest}`,
        );
      },
    );
}
