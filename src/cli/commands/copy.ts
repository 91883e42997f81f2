import type { KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { openSource } from '../../places/index.js';
import { parseReference, type Reference } from '../../ref/index.js';
import { parsePlace } from '../../source/index.js';
import { signImage } from '../../trust/sign-image.js';
import { contextFor } from '../context.js';
import { type PlatformFlags, platformOptions, runCopy } from '../copy-runner.js';
import { printLines } from '../format.js';
import { parseCount } from '../parse-count.js';
import { loadSigningKey } from '../sigstore-signing.js';
import { isArchivePlace, storeTmpDir } from '../store-tmp.js';
import { VERSION } from '../version.js';

/** `ocipeek copy SRC DST`: copy an image between registries, layouts, archives and the store. */
export function registerCopy(program: Command): void {
  program
    .command('copy')
    .description(
      'copy an image between places: REF (docker://), oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REF], store:REF',
    )
    .argument('<src>', 'where the image is')
    .argument('<dst>', 'where it goes')
    .option('--all-platforms', 'copy every platform of an index (digests preserved)')
    .option('--platforms <list>', 'keep these platforms (os/arch,…) in a rewritten index')
    .option('--concurrency <n>', 'blobs copied at once (default 4)', parseCount)
    .option('--chunk-size <bytes>', 'upload to registries in chunks of this many bytes', parseCount)
    .option(
      '--sign-by-sigstore-private-key <file>',
      'sign the copy (a registry) with this sigstore key',
    )
    .option('--sign-passphrase-file <file>', "file holding the signing key's passphrase")
    .option('--sign-identity <ref>', 'identity to sign (default: the destination reference)')
    .option('--json', 'print JSON')
    .action(
      async (
        src: string,
        dst: string,
        opts: PlatformFlags &
          SignFlags & { concurrency?: number; chunkSize?: number; json?: boolean },
        cmd: Command,
      ) => {
        const ctx = await contextFor(cmd);
        const platform = platformOptions(ctx, opts);
        const common = { client: ctx.client, storeDir: ctx.options.store, signal: ctx.signal };
        // Archives on either side are staged in the store's temp folder (opened once).
        const tmpDir =
          isArchivePlace(src) || isArchivePlace(dst) ? await storeTmpDir(ctx) : undefined;
        // The key is read (and its passphrase checked) before anything is copied.
        const signing = opts.signBySigstorePrivateKey
          ? await signingFor(dst, opts.signBySigstorePrivateKey, opts)
          : undefined;
        const source = await openSource(src, { ...common, tmpDir });
        const result = await runCopy(ctx, source, dst, {
          open: { chunkSize: opts.chunkSize, tmpDir },
          ...platform,
          concurrency: opts.concurrency,
          json: opts.json,
        });
        if (signing) {
          const signed = await signImage(ctx.client, signing.ref, {
            privateKey: signing.key,
            identity: opts.signIdentity ? parseReference(opts.signIdentity) : undefined,
            digest: result.digest,
            creator: `ocipeek ${VERSION}`,
            signal: ctx.signal,
          });
          if (!(opts.json || ctx.options.json)) {
            printLines(`signed ${signed.identity}@${signed.digest}`);
          }
        }
      },
    );
}

interface SignFlags {
  signBySigstorePrivateKey?: string;
  signPassphraseFile?: string;
  signIdentity?: string;
}

/** The destination to sign and the decrypted key; only registries hold signatures. */
async function signingFor(
  dst: string,
  keyPath: string,
  opts: SignFlags,
): Promise<{ ref: Reference; key: KeyObject }> {
  const place = parsePlace(dst);
  if (place.kind !== 'registry') {
    throw new InvalidArgumentError('--sign-by-sigstore-private-key needs a registry destination');
  }
  return { ref: place.ref, key: await loadSigningKey(keyPath, opts.signPassphraseFile) };
}
