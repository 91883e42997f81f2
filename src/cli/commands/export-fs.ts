import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { exportFilesystem } from '../../image/export-filesystem.js';
import { openOutputFile } from '../../node/output-file.js';
import { cliFilesystem, openCliImage } from '../cli-image.js';

/** `ocipeek export-fs REF [-o FILE|-]`: the merged filesystem as one tar (crane export). */
export function registerExportFs(program: Command): void {
  program
    .command('export-fs')
    .description(
      'write the merged filesystem of an image as one tar (as crane export), to -o FILE or stdout',
    )
    .argument('<image>', 'image reference or place (oci:DIR[:TAG], oci-archive:FILE, …)')
    .option(
      '-o, --output <file>',
      'tar to write (a file is replaced only once complete; a FIFO or device is written through; - is stdout)',
    )
    .option('--force', 'write the tar to a terminal')
    .action(async (refArg: string, opts: { output?: string; force?: boolean }, cmd: Command) => {
      const toStdout = opts.output === undefined || opts.output === '-';
      if (toStdout && process.stdout.isTTY && !opts.force) {
        throw new InvalidArgumentError(
          'a tar is binary and stdout is a terminal: use -o FILE, a pipe, or --force',
        );
      }
      const img = await openCliImage(cmd, refArg);
      const built = await cliFilesystem(img, { efficiency: false });
      const out = await openOutputFile(toStdout ? process.stdout : (opts.output as string));
      try {
        const tar = Readable.from(
          exportFilesystem(img.image, built.fs, { signal: img.ctx.signal }),
        );
        await pipeline(tar, out.stream, { end: false, signal: img.ctx.signal });
        await out.commit();
      } catch (err) {
        await out.abort();
        throw err;
      }
    });
}
