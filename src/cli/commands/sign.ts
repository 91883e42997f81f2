import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { parseReference } from '../../ref/index.js';
import { parsePlace } from '../../source/index.js';
import { signImage } from '../../trust/index.js';
import { contextFor } from '../context.js';
import { printJson, printLines } from '../format.js';
import { loadSigningKey } from '../sigstore-signing.js';
import { VERSION } from '../version.js';

/** `ocipeek sign REF --sign-by-sigstore-private-key KEY`: add a sigstore signature to an image in a registry. */
export function registerSign(program: Command): void {
  program
    .command('sign')
    .description(
      'sign an image in a registry with a sigstore private key (stored as sha256-<hex>.sig)',
    )
    .argument('<image>', 'image reference with a tag (a registry)')
    .requiredOption(
      '--sign-by-sigstore-private-key <file>',
      'sigstore private key (ENCRYPTED SIGSTORE PRIVATE KEY PEM; --key is the TLS client key)',
    )
    .option('--sign-passphrase-file <file>', "file holding the key's passphrase")
    .option('--sign-identity <ref>', 'identity to sign (default: the image reference)')
    .option('--json', 'print JSON')
    .action(
      async (
        refArg: string,
        opts: {
          signBySigstorePrivateKey: string;
          signPassphraseFile?: string;
          signIdentity?: string;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        const ctx = await contextFor(cmd);
        const place = parsePlace(refArg);
        if (place.kind !== 'registry') {
          throw new InvalidArgumentError('sign writes to registries (REF or docker://REF)');
        }
        const privateKey = await loadSigningKey(
          opts.signBySigstorePrivateKey,
          opts.signPassphraseFile,
        );
        const result = await signImage(ctx.client, place.ref, {
          privateKey,
          identity: opts.signIdentity ? parseReference(opts.signIdentity) : undefined,
          creator: `ocipeek ${VERSION}`,
          signal: ctx.signal,
        });
        if (opts.json || ctx.options.json) printJson(result);
        else
          printLines(
            `signed ${result.identity}@${result.digest} (stored as ${place.ref.name}:${result.tag})`,
          );
      },
    );
}
