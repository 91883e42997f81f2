import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { parsePlace } from '../../source/index.js';
import { contextFor } from '../context.js';
import { printJson, printLines } from '../format.js';
import { type SigningFlags, signerFor, signingOptions } from '../image-signing.js';

/**
 * `ocipeek sign REF --sign-by-sigstore-private-key KEY | --sign-by-gpg-key KEY`: add a
 * signature to an image in a registry.
 */
export function registerSign(program: Command): void {
  signingOptions(
    program
      .command('sign')
      .description(
        'sign an image in a registry: sigstore (stored as sha256-<hex>.sig) or GPG simple signing (into the registries.d lookaside)',
      )
      .argument('<image>', 'image reference with a tag (a registry)'),
    'the image',
  )
    .option('--json', 'print JSON')
    .action(async (refArg: string, opts: SigningFlags & { json?: boolean }, cmd: Command) => {
      const ctx = await contextFor(cmd);
      const place = parsePlace(refArg);
      if (place.kind !== 'registry') {
        throw new InvalidArgumentError('sign writes to registries (REF or docker://REF)');
      }
      const signer = await signerFor(ctx, opts);
      if (!signer) {
        throw new InvalidArgumentError(
          'sign needs --sign-by-sigstore-private-key, --sign-by-gpg-key or --sign-by',
        );
      }
      const signed = await signer(ctx.client, place.ref, undefined);
      if (opts.json || ctx.options.json) printJson(signed.result);
      else printLines(signed.line);
    });
}
