import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { parseDigest } from '../../digest/index.js';
import { InvalidArgumentError } from '../../errors/index.js';
import { openOutputFile } from '../../node/output-file.js';
import { parseReference } from '../../ref/index.js';
import { contextFor } from '../context.js';

/** `ocipeek blob REF DIGEST`: one verified blob, to stdout or a file. */
export function registerBlob(program: Command): void {
  program
    .command('blob')
    .description('download one blob, verified against its digest (to stdout, or -o FILE)')
    .argument('<ref>', 'repository or image reference the blob belongs to')
    .argument('<digest>', 'blob digest (sha256:… or sha512:…)')
    .option(
      '-o, --output <file>',
      'write to FILE (a file is replaced only once verified; a FIFO or device is written through; - is stdout)',
    )
    .option('--force', 'write binary bytes to a terminal')
    .action(
      async (
        refArg: string,
        digest: string,
        opts: { output?: string; force?: boolean },
        cmd: Command,
      ) => {
        const ctx = await contextFor(cmd);
        parseDigest(digest);
        const ref = parseReference(refArg);
        const stream = await ctx.client.openBlob(ref, { digest }, { signal: ctx.signal });
        await writeBlobOutput(stream, opts.output, opts.force ?? false, ctx.signal);
      },
    );
}

/**
 * Write a verified blob stream to `output` (a file replaced only once the stream ended
 * well; `-` or none: stdout, where binary bytes reach a terminal only with `force`).
 */
export async function writeBlobOutput(
  stream: Readable,
  output: string | undefined,
  force: boolean,
  signal: AbortSignal,
): Promise<void> {
  const toStdout = output === undefined || output === '-';
  const body = toStdout && process.stdout.isTTY && !force ? textOnly(stream) : stream;
  const out = await openOutputFile(toStdout ? process.stdout : (output as string));
  try {
    await pipeline(body, out.stream, { end: false, signal });
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
}

/**
 * The blob's bytes as long as they look like text; a NUL byte (layers, compressed data)
 * stops it before anything binary reaches the terminal.
 */
async function* textOnly(stream: Readable): AsyncGenerator<Buffer> {
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (chunk.includes(0)) {
      stream.destroy();
      throw new InvalidArgumentError(
        'the blob is binary and stdout is a terminal: use -o FILE, a pipe, or --force',
      );
    }
    yield chunk;
  }
}
