import { readdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnsupportedError } from '../errors/index.js';
import type { OciLayout } from '../layout/index.js';
import type { Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import { attachmentName, layoutAttachments, withLayoutAttachments } from './layout-attachments.js';
import {
  lookasideSignatureUrl,
  readLookasideSignatures,
  writeLookasideSignature,
} from './lookaside.js';
import type { RegistriesD } from './registries-d.js';
import {
  attachSignatures,
  readAttachedSignatures,
  registryAttachments,
  type SigstoreSignature,
  sigstoreAttachmentTag,
} from './sigstore-attachments.js';

/** The signatures of one manifest, of both kinds, as `copy` carries them along. */
export interface ImageSignatures {
  /** Sigstore signatures (`sha256-<hex>.sig` attachments). */
  sigstore: SigstoreSignature[];
  /** GPG simple signatures (registries.d lookasides), each the signed message's bytes. */
  simple: Buffer[];
}

/**
 * A registry repository's signatures: the endpoint that served or receives the image;
 * registries.d says where its signatures live.
 */
export interface RegistrySignatures {
  kind: 'registry';
  client: RegistryClient;
  ref: Reference;
  registriesD: RegistriesD;
}

/**
 * Where signatures are read from: a registry, or an OCI layout (sigstore attachments
 * only; in the store, those named in `repository`).
 */
export type SignatureSource =
  | RegistrySignatures
  | { kind: 'layout'; layout: OciLayout; repository?: string };

/**
 * Where signatures are written to: a registry, or the OCI layout folder `dir` (the store,
 * with the image's `repository`).
 */
export type SignatureDestination =
  | RegistrySignatures
  | { kind: 'layout'; dir: string; repository?: string };

/** How many signatures `signatures` holds. */
export function signatureCount(signatures: ImageSignatures): number {
  return signatures.sigstore.length + signatures.simple.length;
}

/**
 * Whether a registry image `ref` may have signatures at all, known without a request:
 * registries.d reads sigstore attachments for it, or its lookaside is not a local folder,
 * or that folder holds signatures of its repository (`REPO@…`). Lets a copy of an
 * unsigned image skip reading its manifest twice.
 */
export async function mayHaveSignatures(
  registriesD: RegistriesD,
  ref: Reference,
): Promise<boolean> {
  if (registriesD.useSigstoreAttachments(ref)) return true;
  const base = registriesD.lookaside(ref);
  if (!base.startsWith('file:')) return true;
  const repoDir = fileURLToPath(lookasideSignatureUrl(base, ref, 'sha256:0', 0));
  // BASE/REPO@sha256=0/signature-1: the folder listing REPO@… entries is two levels up.
  const parent = dirname(dirname(repoDir));
  const prefix = `${basename(dirname(repoDir)).split('@')[0]}@`;
  try {
    return (await readdir(parent)).some((name) => name.startsWith(prefix));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    return true; // unreadable: let the real read say why
  }
}

/**
 * The signatures of `manifestDigest` at `place`, as containers/image reads them for a
 * copy: sigstore attachments where registries.d sets `use-sigstore-attachments` (always
 * in a layout), simple signatures from the registry's lookaside.
 */
export async function readImageSignatures(
  place: SignatureSource,
  manifestDigest: string,
  options: { signal?: AbortSignal } = {},
): Promise<ImageSignatures> {
  const { signal } = options;
  switch (place.kind) {
    case 'registry': {
      const { client, ref, registriesD } = place;
      const sigstore = registriesD.useSigstoreAttachments(ref)
        ? await readAttachedSignatures(registryAttachments(client, ref, signal), manifestDigest)
        : [];
      const lookaside = registriesD.lookaside(ref);
      const simple = await readLookasideSignatures(client, lookaside, ref, manifestDigest, {
        signal,
      });
      return { sigstore, simple };
    }
    case 'layout':
      return {
        sigstore: await readAttachedSignatures(
          layoutAttachments(place.layout, signal, place.repository),
          manifestDigest,
        ),
        simple: [],
      };
  }
}

/**
 * Refuse, before anything is copied, signatures `place` cannot hold, as containers/image
 * refuses them: sigstore signatures for a registry without `use-sigstore-attachments`,
 * simple signatures for an OCI layout.
 */
export function checkSignaturesFit(place: SignatureDestination, signatures: ImageSignatures): void {
  const advice = ' (--remove-signatures copies the image without them)';
  if (place.kind === 'registry') {
    if (signatures.sigstore.length > 0 && !place.registriesD.useSigstoreAttachments(place.ref)) {
      throw new UnsupportedError(
        `cannot copy sigstore signatures to ${place.ref.name}: registries.d does not set use-sigstore-attachments for it${advice}`,
      );
    }
    const lookaside = place.registriesD.lookasideForWrite(place.ref);
    if (signatures.simple.length > 0 && !lookaside.startsWith('file:')) {
      throw new UnsupportedError(
        `cannot copy simple (GPG) signatures to ${place.ref.name}: its lookaside ${lookaside} is not a file:// URL (set lookaside-staging in registries.d)${advice}`,
      );
    }
  } else if (signatures.simple.length > 0) {
    const what = place.repository === undefined ? 'an OCI layout' : 'the store';
    throw new UnsupportedError(
      `cannot copy simple (GPG) signatures to ${what}: it has no place for them (skopeo refuses them for oci: too)${advice}`,
    );
  }
}

/**
 * Store `signatures` of `manifestDigest` at `place` beside those already there (the
 * same signature is not stored twice): sigstore signatures into the `sha256-<hex>.sig`
 * attachment, simple signatures as the next free `signature-N` of the lookaside
 * registries.d names for writing. Resolves to where each kind went.
 */
export async function writeImageSignatures(
  place: SignatureDestination,
  manifestDigest: string,
  signatures: ImageSignatures,
  options: { signal?: AbortSignal } = {},
): Promise<string[]> {
  checkSignaturesFit(place, signatures);
  const { signal } = options;
  const written: string[] = [];
  const tag = sigstoreAttachmentTag(manifestDigest);
  switch (place.kind) {
    case 'registry': {
      const { client, ref, registriesD } = place;
      if (signatures.sigstore.length > 0) {
        await attachSignatures(
          registryAttachments(client, ref, signal),
          manifestDigest,
          signatures.sigstore,
        );
        written.push(`${ref.name}:${tag}`);
      }
      const lookaside = registriesD.lookasideForWrite(ref);
      for (const sig of signatures.simple) {
        written.push(await writeLookasideSignature(lookaside, ref, manifestDigest, sig));
      }
      return written;
    }
    case 'layout':
      if (signatures.sigstore.length > 0) {
        await withLayoutAttachments(
          place.dir,
          (repo) => attachSignatures(repo, manifestDigest, signatures.sigstore),
          signal,
          place.repository,
        );
        written.push(
          place.repository === undefined
            ? `oci:${place.dir}:${tag}`
            : `store:${attachmentName(tag, place.repository)}`,
        );
      }
      return written;
  }
}
