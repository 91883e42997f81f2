import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { parsePlace } from '../../source/index.js';
import { contextFor } from '../context.js';
import { printJson, printLines } from '../format.js';
import { type SigningFlags, signerFor, signingOptions } from '../image-signing.js';

/**
 * `ocipeek sign REF --key KEY | --sign-by-sigstore-private-key KEY | --sign-by-gpg-key KEY
 * | --sign-by FINGERPRINT`: add a signature to an image in a registry.
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
      const keyFlag = opts.signBySigstorePrivateKey ? undefined : await sigstoreKeyFlag(cmd);
      // A --key that is the signing key is not also a TLS client key.
      const ctx = await contextFor(cmd, keyFlag ? { options: { key: undefined } } : {});
      const place = parsePlace(refArg);
      if (place.kind !== 'registry') {
        throw new InvalidArgumentError('sign writes to registries (REF or docker://REF)');
      }
      // The key as read once (a pipe such as --key /dev/stdin cannot be read again).
      const signer = keyFlag
        ? await signerFor(ctx, { ...opts, signBySigstorePrivateKey: keyFlag.path }, keyFlag.pem)
        : await signerFor(ctx, opts);
      if (!signer) {
        throw new InvalidArgumentError(
          'sign needs --key (a sigstore private key), --sign-by-sigstore-private-key, --sign-by-gpg-key or --sign-by',
        );
      }
      const signed = await signer(ctx.client, place.ref, undefined);
      if (opts.json || ctx.options.json) printJson(signed.result);
      else printLines(signed.line);
    });
}

/**
 * `sign --key KEY` as cosign spells it. `--key` is the global mutual-TLS client key (and
 * commander gives global options precedence), so for `sign` it names the signing key when
 * the file is a sigstore private key (its PEM block says so) and no `--cert` pairs it with
 * a TLS certificate; otherwise it stays the TLS key.
 */
async function sigstoreKeyFlag(cmd: Command): Promise<{ path: string; pem: string } | undefined> {
  const { key, cert } = cmd.optsWithGlobals() as { key?: string; cert?: string };
  if (!key || cert) return undefined;
  const pem = await readFile(key, 'utf8').catch(() => undefined);
  if (pem === undefined) return undefined; // the TLS code says what is wrong with it
  const { isSigstorePrivateKeyPem } = await import('../../trust/sigstore-key.js');
  return isSigstorePrivateKeyPem(pem) ? { path: key, pem } : undefined;
}
