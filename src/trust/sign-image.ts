import { type KeyObject, sign } from 'node:crypto';
import type { PrivateKey as OpenPgpPrivateKey } from 'openpgp';
import { InvalidArgumentError } from '../errors/index.js';
import type { Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import { writeLookasideSignature } from './lookaside.js';
import { makeSigstorePayload } from './signature-payload.js';
import { sigstoreAttachmentTag, writeSigstoreSignature } from './sigstore-attachments.js';
import { gpgFingerprint, makeSimpleSignature } from './simple-signing.js';

/** Options of {@link signImage}. */
export interface SignImageOptions {
  /** The decrypted private key (`readSigstorePrivateKey`). */
  privateKey: KeyObject;
  /** The identity to sign (default `ref` itself; it must carry a tag then). */
  identity?: Reference;
  /** The manifest digest to sign (default: what `ref` resolves to now). */
  digest?: string;
  /** Who signed, for the payload's `optional.creator`. */
  creator?: string;
  signal?: AbortSignal;
}

/** What {@link signImage} wrote. */
export interface SignImageResult {
  /** The signed manifest digest. */
  digest: string;
  /** The identity in the signature (`host/repo:tag`). */
  identity: string;
  /** The tag the signature was stored under (`sha256-<hex>.sig`). */
  tag: string;
}

/**
 * Sign an image in a registry with a sigstore key, as `skopeo copy
 * --sign-by-sigstore-private-key` does: a payload naming the identity and the manifest
 * digest, signed (ECDSA P-256 / RSA with SHA-256, or Ed25519), stored as a sigstore
 * attachment (`sha256-<hex>.sig` in the same repository) beside any signatures already
 * there. Pass `digest` to sign exactly what was just pushed.
 */
export async function signImage(
  client: RegistryClient,
  ref: Reference,
  options: SignImageOptions,
): Promise<SignImageResult> {
  const { signal } = options;
  const identity = signedIdentityOf(ref, options.identity);
  const digest = options.digest ?? (await client.headManifest(ref, { signal })).digest;
  const payload = makeSigstorePayload(
    { dockerReference: identity, manifestDigest: digest },
    options.creator ?? 'ocipeek',
  );
  const algorithm = options.privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  const signature = sign(algorithm, payload, options.privateKey).toString('base64');
  await writeSigstoreSignature(client, ref, digest, { payload, signature }, { signal });
  return { digest, identity, tag: sigstoreAttachmentTag(digest) };
}

/** The identity a signature names (`host/repo:tag`): `identity`, else `ref`; a tag is needed. */
function signedIdentityOf(ref: Reference, identity = ref): string {
  if (!identity.tag) {
    throw new InvalidArgumentError(
      `cannot sign ${ref}: the signed identity needs a tag (give one with --sign-identity)`,
    );
  }
  return `${identity.name}:${identity.tag}`;
}

/** Options of {@link signImageWithGpg}. */
export interface SignImageWithGpgOptions {
  /** The unlocked OpenPGP secret key (`readGpgPrivateKey`). */
  privateKey: OpenPgpPrivateKey;
  /** Where the signature goes (`RegistriesD.lookasideForWrite`): a `file://` URL. */
  lookaside: string;
  /** The identity to sign (default `ref` itself; it must carry a tag then). */
  identity?: Reference;
  /** The manifest digest to sign (default: what `ref` resolves to now). */
  digest?: string;
  /** Who signed, for the payload's `optional.creator`. */
  creator?: string;
  signal?: AbortSignal;
}

/** What {@link signImageWithGpg} wrote. */
export interface SignImageWithGpgResult {
  digest: string;
  identity: string;
  /** The file the signature was written to. */
  file: string;
  /** The signing key's fingerprint. */
  fingerprint: string;
}

/**
 * Sign an image in a registry with an OpenPGP key, as `skopeo copy --sign-by` does: a
 * simple signing payload naming the identity and the manifest digest, as a signed OpenPGP
 * message, written to the lookaside registries.d names for writing (`lookaside-staging`,
 * else `lookaside`) beside the signatures already there.
 */
export async function signImageWithGpg(
  client: RegistryClient,
  ref: Reference,
  options: SignImageWithGpgOptions,
): Promise<SignImageWithGpgResult> {
  const identity = signedIdentityOf(ref, options.identity);
  const digest =
    options.digest ?? (await client.headManifest(ref, { signal: options.signal })).digest;
  const signature = await makeSimpleSignature(
    { dockerReference: identity, manifestDigest: digest },
    options.privateKey,
    options.creator ?? 'ocipeek',
  );
  const file = await writeLookasideSignature(options.lookaside, ref, digest, signature);
  return { digest, identity, file, fingerprint: gpgFingerprint(options.privateKey) };
}
