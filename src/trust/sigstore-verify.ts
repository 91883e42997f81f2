import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { Reference } from '../ref/index.js';
import { readKeyMaterial } from './key-material.js';
import type { KeySource } from './policy.js';
import { claimsRefused, parseSigstorePayload, type SigstoreClaims } from './signature-payload.js';
import type { SignedIdentity } from './signed-identity.js';
import type { SigstoreSignature } from './sigstore-attachments.js';

/** A public key a requirement trusts, and where it came from (for messages). */
export interface TrustedKey {
  key: KeyObject;
  origin: string;
}

/**
 * The public keys of a `sigstoreSigned` requirement: PEM files (`keyPath`, `keyPaths`) or
 * base64 of PEM (`keyData`, `keyDatas`). A key that cannot be read or parsed throws an
 * Error naming it.
 */
export async function loadSigstoreKeys(source: KeySource): Promise<TrustedKey[]> {
  return (await readKeyMaterial(source)).map(({ bytes, origin }) => ({
    key: parseKey(bytes.toString('utf8'), origin),
    origin,
  }));
}

function parseKey(pem: string, origin: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch (err) {
    throw new Error(`${origin} is not a public key: ${(err as Error).message}`);
  }
}

/** Whether `signature` (raw bytes) over `payload` was made by `key`. */
function signedBy(key: KeyObject, payload: Buffer, signature: Buffer): boolean {
  // Ed25519 hashes by itself; ECDSA (DER) and RSA (PKCS #1 v1.5) sign the SHA-256.
  const algorithm = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  try {
    return verify(algorithm, payload, key, signature);
  } catch {
    return false;
  }
}

/**
 * Check one sigstore signature as containers/image does, in its order: made by one of
 * `keys`, over a payload that names this manifest (`rootDigest`/`rootBytes`) and an
 * identity `rule` accepts for `intended`. Resolves to the signed identity, or to the
 * reason it was refused.
 */
export function checkSigstoreSignature(
  sig: SigstoreSignature,
  keys: readonly TrustedKey[],
  image: { intended: Reference | undefined; rootBytes: Buffer },
  rule: SignedIdentity,
): { ok: true; identity: string; key: string } | { ok: false; reason: string } {
  if (!sig.signature) return { ok: false, reason: 'a signature layer has no signature annotation' };
  const raw = Buffer.from(sig.signature, 'base64');
  const key = keys.find((k) => signedBy(k.key, sig.payload, raw));
  if (!key) return { ok: false, reason: 'no trusted key made the signature' };
  let claims: SigstoreClaims;
  try {
    claims = parseSigstorePayload(sig.payload);
  } catch (err) {
    return { ok: false, reason: `invalid payload: ${(err as Error).message}` };
  }
  const refused = claimsRefused(claims, image, rule);
  if (refused) return { ok: false, reason: refused };
  return { ok: true, identity: claims.dockerReference, key: key.origin };
}
