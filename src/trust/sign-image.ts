import { type KeyObject, sign } from 'node:crypto';
import { InvalidArgumentError } from '../errors/index.js';
import type { Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import { sigstoreAttachmentTag, writeSigstoreSignature } from './sigstore-attachments.js';
import { makeSigstorePayload } from './sigstore-payload.js';

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
  const identity = options.identity ?? ref;
  if (!identity.tag) {
    throw new InvalidArgumentError(
      `cannot sign ${ref}: the signed identity needs a tag (give one with --sign-identity)`,
    );
  }
  const digest = options.digest ?? (await client.headManifest(ref, { signal })).digest;
  const payload = makeSigstorePayload(
    { dockerReference: `${identity.name}:${identity.tag}`, manifestDigest: digest },
    options.creator ?? 'ocipeek',
  );
  const algorithm = options.privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  const signature = sign(algorithm, payload, options.privateKey).toString('base64');
  await writeSigstoreSignature(client, ref, digest, { payload, signature }, { signal });
  return {
    digest,
    identity: `${identity.name}:${identity.tag}`,
    tag: sigstoreAttachmentTag(digest),
  };
}
