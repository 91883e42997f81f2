import { InvalidArgumentError, UnsupportedError } from '../errors/index.js';
import { LayoutSource } from '../layout/index.js';
import { type RegistryClient, RegistrySource } from '../registry/index.js';
import type { ImageSource, Place } from '../source/index.js';
import type {
  ImageSignatures,
  SignatureDestination,
  SignatureSource,
} from '../trust/image-signatures.js';
import type { RegistriesD } from '../trust/registries-d.js';
import type { CliContext } from './context.js';
import { printLines } from './format.js';

/** What `copy` carries: the source root's signatures, and where they go. */
export interface SignatureCarry {
  /** Store the signatures of the manifest the destination now holds as its root. */
  finish(result: { digest: string; sourceDigest: string }): Promise<void>;
}

/**
 * The source's signatures as `skopeo copy` carries them (without `--remove-signatures`):
 * read before anything is copied, and refused at once when the copy cannot keep them (a
 * conversion changes the digests they sign; an archive, or a layout for simple
 * signatures, has no place for them), so a refused copy writes nothing. Registries and
 * `oci:` layouts are read and written; the store keeps none (its images were checked on
 * the way in). Undefined when there is nothing to carry.
 */
export async function signaturesToCarry(
  ctx: CliContext,
  source: ImageSource,
  to: Place,
  clients: { src: RegistryClient; dest: RegistryClient },
  converting: boolean,
): Promise<SignatureCarry | undefined> {
  const isLayout = source instanceof LayoutSource && source.kind !== 'store';
  if (!(source instanceof RegistrySource) && !isLayout) return undefined;
  const { signal } = ctx;
  const {
    readImageSignatures,
    signatureCount,
    checkSignaturesFit,
    writeImageSignatures,
    mayHaveSignatures,
  } = await import('../trust/image-signatures.js');
  // registries.d (and its YAML parser) only when a registry is on either side.
  let loaded: RegistriesD | undefined;
  const registriesD = async () => {
    const { loadRegistriesD } = await import('../trust/registries-d.js');
    loaded ??= await loadRegistriesD(ctx.options['registries.d']);
    return loaded;
  };
  if (source instanceof RegistrySource) {
    // An unsigned image (the usual case) costs no second manifest request.
    let may = false;
    for (const { ref } of clients.src.pullSources(source.ref)) {
      may ||= await mayHaveSignatures(await registriesD(), ref);
    }
    if (!may) return undefined;
  }
  const root = await source.root({ signal }); // the trust policy has accepted it now
  const from: SignatureSource =
    source instanceof RegistrySource
      ? {
          kind: 'registry',
          client: clients.src,
          ref: source.served,
          registriesD: await registriesD(),
        }
      : { kind: 'layout', layout: (source as LayoutSource).layout };
  const signaturesOf = (digest: string): Promise<ImageSignatures> =>
    readImageSignatures(from, digest, { signal });
  const signatures = await signaturesOf(root.digest);
  const count = signatureCount(signatures);
  if (count === 0) return undefined;
  const advice = '; --remove-signatures copies the image without them';
  if (converting) {
    throw new InvalidArgumentError(
      `${source.description} has ${count} signature(s) a conversion would invalidate${advice}`,
    );
  }
  let dest: SignatureDestination | undefined;
  if (to.kind === 'registry') {
    dest = {
      kind: 'registry',
      client: clients.dest,
      ref: to.ref,
      registriesD: await registriesD(),
    };
  } else if (to.kind === 'oci') {
    dest = { kind: 'layout', dir: to.path };
  } else if (to.kind !== 'store') {
    throw new UnsupportedError(
      `${to.kind}: cannot hold the source's ${count} signature(s)${advice}`,
    );
  }
  if (!dest) return undefined;
  checkSignaturesFit(dest, signatures);
  const to_ = dest;
  return {
    async finish(result) {
      // One platform picked from a signed index: that manifest's own signatures.
      if (result.digest !== result.sourceDigest) return;
      const carried =
        result.digest === root.digest ? signatures : await signaturesOf(result.digest);
      if (signatureCount(carried) === 0) return;
      checkSignaturesFit(to_, carried);
      const written = await writeImageSignatures(to_, result.digest, carried, { signal });
      if (!ctx.options.json) {
        printLines(`signatures: ${signatureCount(carried)} copied (${written.join(', ')})`);
      }
    },
  };
}
