import { createHash, type KeyObject, sign, verify } from 'node:crypto';
import { InvalidArgumentError, PolicyRejectedError } from '../errors/index.js';
import type { Descriptor } from '../media/index.js';
import { isletPublicKey, spkiDer } from './islet-keys.js';

/** The manifest annotations islet's `ir-sign` writes (hex DER each). */
export const ISLET_ANNOTATIONS = {
  /** ECDSA P-384/SHA-384 by the vendor key over the config blob's bytes. */
  signature: 'com.samsung.islet.image.signature',
  /** The vendor's public key, SPKI. */
  vendorPub: 'com.samsung.islet.image.vendorpub',
  /** ECDSA P-384/SHA-384 by the root CA key over the vendor's SPKI. */
  vendorPubSignature: 'com.samsung.islet.image.vendorpub.signature',
} as const;

const ecdsa = (key: KeyObject) => ({ key, dsaEncoding: 'der' as const });

/** The root CA's signature over `vendorKey`'s SPKI (islet's `vendor.pub.sig`). */
export function signIsletVendorKey(vendorKey: KeyObject, rootKey: KeyObject): Buffer {
  return sign('sha384', spkiDer(vendorKey), ecdsa(rootKey));
}

/** Whether `signature` is `rootKey`'s over `vendorKey`'s SPKI. */
export function isletVendorKeySigned(
  vendorKey: KeyObject,
  signature: Buffer,
  rootKey: KeyObject,
): boolean {
  return verify('sha384', spkiDer(vendorKey), ecdsa(rootKey), signature);
}

/**
 * `manifestBytes` with islet's three signature annotations added (others kept): the
 * vendor key's signature over `configBytes`, its public key and the root's signature
 * over that key. The manifest is re-serialized, so its digest changes (as with ir-sign).
 */
export function signIsletManifest(
  manifestBytes: Buffer,
  configBytes: Buffer,
  vendorKey: KeyObject,
  vendorPubSignature: Buffer,
): Buffer {
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as Record<string, unknown>;
  if (!manifest.config || Array.isArray(manifest.manifests)) {
    throw new InvalidArgumentError('islet signs image manifests: this is not one (an index?)');
  }
  manifest.annotations = {
    ...(manifest.annotations as Record<string, string> | undefined),
    [ISLET_ANNOTATIONS.signature]: sign('sha384', configBytes, ecdsa(vendorKey)).toString('hex'),
    [ISLET_ANNOTATIONS.vendorPub]: spkiDer(vendorKey).toString('hex'),
    [ISLET_ANNOTATIONS.vendorPubSignature]: vendorPubSignature.toString('hex'),
  };
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
}

/** What {@link verifyIsletSignature} found, shaped as a policy verdict (`ocipeek verify`). */
export interface IsletVerdict {
  /** sha256 of the vendor key's SPKI DER (hex): who signed. */
  vendorKey: string;
  /** What accepted the image. */
  scope: string;
  /** One line per requirement met. */
  accepted: string[];
}

/**
 * Check islet's signature chain on an image manifest: the vendor key in the annotations is
 * signed by `rootKey`, and the config blob (read through `readConfig`, which must verify
 * its digest) is signed by the vendor key. An unsigned or badly signed image, or an
 * index, is a {@link PolicyRejectedError} naming `image` and why.
 */
export async function verifyIsletSignature(
  image: string,
  manifestBytes: Buffer,
  readConfig: (descriptor: Descriptor) => Promise<Buffer>,
  rootKey: KeyObject,
): Promise<IsletVerdict> {
  const refuse = (reason: string) =>
    new PolicyRejectedError(image, 'islet signature (--islet-root-ca)', reason);
  let manifest: { config?: Descriptor; manifests?: unknown; annotations?: Record<string, unknown> };
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8'));
  } catch {
    throw refuse('the manifest is not JSON');
  }
  if (!manifest.config || Array.isArray(manifest.manifests)) {
    throw refuse('islet signs image manifests and this is an index: name the image by digest');
  }
  const hexOf = (name: string): Buffer => {
    const value = manifest.annotations?.[name];
    if (value === undefined) throw refuse(`not signed: no ${name} annotation`);
    if (typeof value !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(value)) {
      throw refuse(`annotation ${name} is not hex`);
    }
    return Buffer.from(value, 'hex');
  };
  const signature = hexOf(ISLET_ANNOTATIONS.signature);
  const vendorPub = hexOf(ISLET_ANNOTATIONS.vendorPub);
  const vendorPubSignature = hexOf(ISLET_ANNOTATIONS.vendorPubSignature);
  let vendorKey: KeyObject;
  try {
    vendorKey = isletPublicKey(vendorPub, 'the vendor key in the manifest');
  } catch (err) {
    throw refuse((err as Error).message);
  }
  // islet signs the SPKI bytes as they stand in the annotation: check those bytes.
  if (!verify('sha384', vendorPub, ecdsa(rootKey), vendorPubSignature)) {
    throw refuse('the vendor key is not signed by the root CA');
  }
  const config = await readConfig(manifest.config);
  if (!verify('sha384', config, ecdsa(vendorKey), signature)) {
    throw refuse('the config signature does not match (config or signature altered)');
  }
  const vendorKeyHash = createHash('sha256').update(vendorPub).digest('hex');
  return {
    vendorKey: vendorKeyHash,
    scope: 'islet signature (--islet-root-ca)',
    accepted: [`config signed by vendor key sha256:${vendorKeyHash}, signed by the root CA`],
  };
}
