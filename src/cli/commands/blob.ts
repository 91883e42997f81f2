import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { parseDigest } from '../../digest/index.js';
import { parseReference } from '../../ref/index.js';
import { contextFor } from '../context.js';

/** `ocipeek blob REF DIGEST`: one verified blob, to stdout or a file. */
export function registerBlob(program: Command): void {
  program
    .command('blob')
    .description('download one blob, verified against its digest (to stdout, or -o FILE)')
    .argument('<ref>', 'repository or image reference the blob belongs to')
    .argument('<digest>', 'blob digest (sha256:… or sha512:…)')
    .option('-o, --output <file>', 'write to FILE (only once verified)')
    .action(async (refArg: string, digest: string, opts: { output?: string }, cmd: Command) => {
      const ctx = await contextFor(cmd);
      parseDigest(digest);
      const ref = parseReference(refArg);
      const stream = await ctx.client.openBlob(ref, { digest }, { signal: ctx.signal });
      if (!opts.output) {
        await pipeline(stream, process.stdout);
        return;
      }
      // Land in a temp file beside the target and rename only after the digest checked
      // out, so a bad blob never leaves a file that looks complete.
      const temp = join(
        dirname(opts.output),
        `.${basename(opts.output)}.${randomBytes(6).toString('hex')}.part`,
      );
      try {
        await pipeline(stream, createWriteStream(temp, { flags: 'wx' }));
        await rename(temp, opts.output);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
    });
}
