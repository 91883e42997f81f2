import type { Command } from 'commander';
import { convertToEstargz } from '../../convert/index.js';
import { InvalidArgumentError } from '../../errors/index.js';
import { openDestination, openSource } from '../../places/index.js';
import { parsePlace } from '../../source/index.js';
import { openCliImage } from '../cli-image.js';
import { contextFor } from '../context.js';
import { platformOptions } from '../copy-runner.js';
import { formatBytes, printJson, printLines, shortDigest, table } from '../format.js';
import { parseCount } from '../parse-count.js';
import { runConversion } from '../run-conversion.js';
import { storeTmpDir } from '../store-tmp.js';

/**
 * `ocipeek convert REF DST --estargz|--zstd-chunked`: write a lazily readable copy of an
 * image (eStargz, or zstd:chunked as `copy --dest-compress-format zstd:chunked` writes it).
 */
export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description(
      'write an eStargz or zstd:chunked version of an image (still an ordinary gzip or zstd image) to DST: REF, oci:DIR[:TAG], store:REF, …',
    )
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .argument('<dst>', 'where the converted image goes')
    .option('--estargz', 'convert to eStargz (gzip; stargz-snapshotter reads it lazily)')
    .option(
      '--zstd-chunked',
      'convert to zstd:chunked (zstd; podman and containers/storage pull it partially)',
    )
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
        opts: { estargz?: boolean; zstdChunked?: boolean; chunkSize?: number; json?: boolean },
        cmd: Command,
      ) => {
        if (opts.estargz === opts.zstdChunked) {
          throw new InvalidArgumentError('say which format: --estargz or --zstd-chunked');
        }
        if (opts.zstdChunked) {
          if (opts.chunkSize !== undefined) {
            throw new InvalidArgumentError(
              '--chunk-size is for --estargz: zstd:chunked cuts files where containers/storage does',
            );
          }
          // The same conversion as `copy --dest-compress-format zstd:chunked`.
          const [from, to] = [parsePlace(refArg), parsePlace(dst)];
          const ctx = await contextFor(cmd);
          const tmpDir = await storeTmpDir(ctx);
          const source = await openSource(from, {
            client: ctx.client,
            storeDir: ctx.options.store,
            signal: ctx.signal,
            tmpDir,
          });
          await runConversion(ctx, source, to, {
            compression: 'zstd:chunked',
            ...platformOptions(ctx, {}),
            client: ctx.client,
            tmpDir,
            json: opts.json,
          });
          return;
        }
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
