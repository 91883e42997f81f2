import { InvalidArgumentError, UnsupportedError } from '../errors/index.js';
import { LayoutSource } from '../layout/index.js';
import { isIndex, parseManifest } from '../media/index.js';
import { type RegistryClient, RegistrySource } from '../registry/index.js';
import type { ImageSource, Place } from '../source/index.js';
import { Store } from '../store/index.js';
import type {
  ImageSignatures,
  SignatureDestination,
  SignatureSource,
} from '../trust/image-signatures.js';
import type { RegistriesD } from '../trust/registries-d.js';
import type { CliContext } from './context.js';
import { printLines } from './format.js';

/** What `copy` carries: the source's signatures, and where they go. */
export interface SignatureCarry {
  /**
   * Store the signatures of each manifest the copy wrote (its root and, for an index, its
   * platform manifests) that has some at the source.
   */
  finish(result: {
    digest: string;
    sourceDigest: string;
    manifests: readonly string[];
  }): Promise<void>;
}

/**
 * The source's signatures as `skopeo copy` carries them (without `--remove-signatures`):
 * those of the root and, when it is an index, of each platform manifest (`skopeo copy
 * --all` copies each instance's signatures; one platform picked takes its own). Read
 * before anything is copied, and refused at once when the copy cannot keep them (a
 * conversion changes the digests they sign; an archive, or a layout or the store for
 * simple signatures, has no place for them), so a refused copy writes nothing.
 * Registries, `oci:` layouts and the store (sigstore attachments named
 * `REPOSITORY:sha256-<hex>.sig` beside the image) are read and written. Undefined when
 * there is nothing to carry.
 */
export async function signaturesToCarry(
  ctx: CliContext,
  source: ImageSource,
  places: { from: Place; to: Place },
  clients: { src: RegistryClient; dest: RegistryClient },
  converting: boolean,
): Promise<SignatureCarry | undefined> {
  const { from: fromPlace, to } = places;
  const isLayout =
    source instanceof LayoutSource && (source.kind === 'oci' || source.kind === 'store');
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
      : {
          kind: 'layout',
          layout: (source as LayoutSource).layout,
          repository: fromPlace.kind === 'store' ? fromPlace.ref.name : undefined,
        };
  const signaturesOf = (digest: string): Promise<ImageSignatures> =>
    readImageSignatures(from, digest, { signal });
  // Every manifest the copy may write: the root, and an index's entries (whichever
  // platforms the flags pick, each entry's signatures are its own).
  const parsed = parseManifest(root.bytes, root.mediaType);
  const digests = [root.digest, ...(isIndex(parsed) ? parsed.manifests.map((d) => d.digest) : [])];
  const found = new Map<string, ImageSignatures>();
  await Promise.all(
    [...new Set(digests)].map(async (d) => {
      found.set(d, await signaturesOf(d));
    }),
  );
  const all = [...found.values()];
  const count = all.reduce((n, sigs) => n + signatureCount(sigs), 0);
  if (count === 0) return undefined;
  const advice = '; --remove-signatures copies the image without them';
  if (converting) {
    throw new InvalidArgumentError(
      `${source.description} has ${count} signature(s) a conversion would invalidate${advice}`,
    );
  }
  let dest: SignatureDestination;
  if (to.kind === 'registry') {
    dest = {
      kind: 'registry',
      client: clients.dest,
      ref: to.ref,
      registriesD: await registriesD(),
    };
  } else if (to.kind === 'oci') {
    dest = { kind: 'layout', dir: to.path };
  } else if (to.kind === 'store') {
    // The store is a layout whose names are references: attachments go beside the image.
    const store = await Store.open(ctx.options.store, { signal });
    dest = { kind: 'layout', dir: store.dir, repository: to.ref.name };
  } else {
    throw new UnsupportedError(
      `${to.kind}: cannot hold the source's ${count} signature(s)${advice}`,
    );
  }
  for (const sigs of all) checkSignaturesFit(dest, sigs);
  const to_ = dest;
  return {
    async finish(result) {
      if (result.digest !== result.sourceDigest) return; // converted: nothing fits
      let copied = 0;
      const where: string[] = [];
      // Platform manifests first, the root last, as the copy wrote them.
      for (const digest of [...result.manifests, result.digest]) {
        // A nested index's entries were not read up front: read them now.
        const carried = found.get(digest) ?? (await signaturesOf(digest));
        if (signatureCount(carried) === 0) continue;
        checkSignaturesFit(to_, carried);
        where.push(...(await writeImageSignatures(to_, digest, carried, { signal })));
        copied += signatureCount(carried);
      }
      if (copied > 0 && !ctx.options.json) {
        printLines(`signatures: ${copied} copied (${where.join(', ')})`);
      }
    },
  };
}
