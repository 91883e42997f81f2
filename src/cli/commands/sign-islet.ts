import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import {
  isletPrivateKey,
  isletVendorKeySigned,
  signIsletManifest,
  signIsletVendorKey,
} from '../../ir/index.js';
import { isImageManifestMediaType } from '../../media/index.js';
import { parseReference } from '../../ref/index.js';
import { contextFor } from '../context.js';
import { printLines } from '../format.js';

async function readKeyFile(file: string, option: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${option} ${file}: ${(err as Error).message}`);
  }
}

interface SignIsletOptions {
  vendorKey: string;
  vendorPubSignature?: string;
  rootKey?: string;
}

/**
 * `ocipeek sign-islet REF`: islet's `ir-sign sign-image` on a registry image: the config
 * signed with the vendor key, the manifest annotated and pushed back under REF's tag.
 */
export function registerSignIslet(program: Command): void {
  program
    .command('sign-islet')
    .description(
      "sign an image the way islet's ir-sign does (ECDSA P-384 manifest annotations) and push the signed manifest",
    )
    .argument('<ref>', 'registry image (an image manifest, by tag or digest)')
    .requiredOption('--vendor-key <file>', "the vendor's P-384 private key (PEM or DER)")
    .option(
      '--vendor-pub-signature <file>',
      "the root CA's signature over the vendor public key (DER, as ir-sign or openssl dgst -sha384 -sign write it)",
    )
    .option('--root-key <file>', 'make that signature here with the root CA private key instead')
    .action(async (refArg: string, opts: SignIsletOptions, cmd: Command) => {
      if (!opts.vendorPubSignature === !opts.rootKey) {
        throw new InvalidArgumentError('give one of --vendor-pub-signature and --root-key');
      }
      const ctx = await contextFor(cmd);
      const vendorKey = isletPrivateKey(
        await readKeyFile(opts.vendorKey, '--vendor-key'),
        `--vendor-key ${opts.vendorKey}`,
      );
      const vendorPubSignature = opts.rootKey
        ? signIsletVendorKey(
            vendorKey,
            isletPrivateKey(
              await readKeyFile(opts.rootKey, '--root-key'),
              `--root-key ${opts.rootKey}`,
            ),
          )
        : await readKeyFile(opts.vendorPubSignature!, '--vendor-pub-signature');
      // As ir-sign does with -c: a vendor signature the root CA did not make is caught now.
      if (ctx.islet && !isletVendorKeySigned(vendorKey, vendorPubSignature, ctx.islet.rootKey)) {
        throw new InvalidArgumentError(
          `the vendor key's signature does not verify with --islet-root-ca ${ctx.options.isletRootCa}`,
        );
      }
      const ref = parseReference(refArg);
      const { bytes, mediaType, manifest } = await ctx.client.getManifest(ref, {
        signal: ctx.signal,
      });
      if (!isImageManifestMediaType(mediaType) || !('config' in manifest)) {
        throw new InvalidArgumentError(
          `${ref} is ${mediaType}, not an image manifest: islet signs image manifests (name one by digest)`,
        );
      }
      const config = await ctx.client.readBlob(ref, manifest.config, { signal: ctx.signal });
      const signed = signIsletManifest(bytes, config, vendorKey, vendorPubSignature);
      // Signing changes the manifest's digest: an image named by digest is pushed by the new one.
      const target = !ref.digest
        ? ref
        : ref.tag
          ? ref.withTag(ref.tag)
          : parseReference(ref.name, { defaultTag: null });
      const digest = await ctx.client.putManifest(target, signed, mediaType, {
        signal: ctx.signal,
      });
      printLines(`${ref}: signed`, `digest: ${digest}`);
    });
}
