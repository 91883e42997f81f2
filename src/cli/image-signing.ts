import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors/index.js';
import { parseReference, type Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import type { CliContext } from './context.js';
import { VERSION } from './version.js';

/** The signing flags `sign` and `copy` share (skopeo's names where skopeo has them). */
export interface SigningFlags {
  signBySigstorePrivateKey?: string;
  signByGpgKey?: string;
  signBy?: string;
  signPassphraseFile?: string;
  signIdentity?: string;
}

/** Signs one image in a registry; resolves to the line to print and the JSON result. */
export type Signer = (
  client: RegistryClient,
  ref: Reference,
  digest: string | undefined,
) => Promise<{ line: string; result: object }>;

/** Add the signing flags to a command (`what` says what is signed). */
export function signingOptions(command: Command, what: string): Command {
  return command
    .option(
      '--sign-by-sigstore-private-key <file>',
      `sign ${what} with this sigstore key (ENCRYPTED SIGSTORE PRIVATE KEY PEM), stored as sha256-<hex>.sig`,
    )
    .option(
      '--sign-by-gpg-key <file>',
      `sign ${what} with this OpenPGP secret key (gpg --export-secret-keys), into the registries.d lookaside`,
    )
    .option(
      '--sign-by <fingerprint>',
      `sign ${what} with this GPG key of the GnuPG home ($GNUPGHOME, else ~/.gnupg), as skopeo --sign-by`,
    )
    .option('--sign-passphrase-file <file>', "file holding the signing key's passphrase")
    .option('--sign-identity <ref>', 'identity to sign (default: the image reference)');
}

/**
 * A passphrase file as containers/image reads it: the whole file without its final
 * newline.
 */
async function readPassphraseFile(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (err) {
    throw new InvalidArgumentError(
      `cannot read passphrase file ${path}: ${(err as Error).message}`,
    );
  }
}

async function readKeyFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new InvalidArgumentError(`cannot read key ${path}: ${(err as Error).message}`);
  }
}

/**
 * The signer the flags ask for, with its key read and unlocked now (a wrong passphrase
 * fails before anything is copied); undefined when no signing flag is given.
 * `sigstorePem`: the sigstore key file's text when the caller has read it already.
 */
export async function signerFor(
  ctx: CliContext,
  flags: SigningFlags,
  sigstorePem?: string,
): Promise<Signer | undefined> {
  const identity = flags.signIdentity ? parseReference(flags.signIdentity) : undefined;
  const creator = `ocipeek ${VERSION}`;
  const { signal } = ctx;
  if (
    [flags.signBySigstorePrivateKey, flags.signByGpgKey, flags.signBy].filter(Boolean).length > 1
  ) {
    throw new InvalidArgumentError(
      'use one of --sign-by-sigstore-private-key, --sign-by-gpg-key and --sign-by',
    );
  }
  if (flags.signBySigstorePrivateKey) {
    if (!flags.signPassphraseFile) {
      throw new InvalidArgumentError(
        'signing needs --sign-passphrase-file (ocipeek does not prompt)',
      );
    }
    const pem = sigstorePem ?? (await readKeyFile(flags.signBySigstorePrivateKey)).toString('utf8');
    // The key code (scrypt, XSalsa20-Poly1305) is loaded only by commands that sign.
    const [{ readSigstorePrivateKey }, { signImage }] = await Promise.all([
      import('../trust/sigstore-key.js'),
      import('../trust/sign-image.js'),
    ]);
    const privateKey = await readSigstorePrivateKey(
      pem,
      await readPassphraseFile(flags.signPassphraseFile),
    );
    return async (client, ref, digest) => {
      const result = await signImage(client, ref, {
        privateKey,
        identity,
        digest,
        creator,
        signal,
      });
      return {
        line: `signed ${result.identity}@${result.digest} (stored as ${ref.name}:${result.tag})`,
        result,
      };
    };
  }
  if (flags.signByGpgKey || flags.signBy) {
    const passphrase = flags.signPassphraseFile
      ? await readPassphraseFile(flags.signPassphraseFile)
      : undefined;
    const [{ readGpgPrivateKey }, { readGpgHomeKey }, { signImageWithGpg }, { loadRegistriesD }] =
      await Promise.all([
        import('../trust/simple-signing.js'),
        import('../trust/gpg-home.js'),
        import('../trust/sign-image.js'),
        import('../trust/registries-d.js'),
      ]);
    const privateKey = flags.signByGpgKey
      ? await readGpgPrivateKey(await readKeyFile(flags.signByGpgKey), passphrase)
      : await readGpgHomeKey(flags.signBy as string, passphrase);
    const registriesD = await loadRegistriesD(ctx.options['registries.d']);
    return async (client, ref, digest) => {
      const result = await signImageWithGpg(client, ref, {
        privateKey,
        lookaside: registriesD.lookasideForWrite(ref),
        identity,
        digest,
        creator,
        signal,
      });
      return {
        line: `signed ${result.identity}@${result.digest} by ${result.fingerprint} (stored as ${result.file})`,
        result,
      };
    };
  }
  if (flags.signPassphraseFile || flags.signIdentity) {
    throw new InvalidArgumentError(
      '--sign-passphrase-file and --sign-identity need --sign-by-sigstore-private-key, --sign-by-gpg-key or --sign-by',
    );
  }
  return undefined;
}
