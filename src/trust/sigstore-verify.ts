import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { digestOf, parseDigest } from '../digest/index.js';
import type { Reference } from '../ref/index.js';
import type { KeySource } from './policy.js';
import { describeIdentity, identityMatches, type SignedIdentity } from './signed-identity.js';
import type { SigstoreSignature } from './sigstore-attachments.js';
import { parseSigstorePayload } from './sigstore-payload.js';

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
  const paths = source.keyPath ? [source.keyPath] : (source.keyPaths ?? []);
  const datas = source.keyData ? [source.keyData] : (source.keyDatas ?? []);
  const keys: TrustedKey[] = [];
  for (const path of paths) {
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (err) {
      throw new Error(`cannot read key ${path}: ${(err as Error).message}`);
    }
    keys.push({ key: parseKey(pem, path), origin: path });
  }
  datas.forEach((data, i) => {
    const origin = `keyData${datas.length > 1 ? `[${i}]` : ''}`;
    keys.push({ key: parseKey(Buffer.from(data, 'base64').toString('utf8'), origin), origin });
  });
  return keys;
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
  image: { intended: Reference; rootBytes: Buffer },
  rule: SignedIdentity,
): { ok: true; identity: string; key: string } | { ok: false; reason: string } {
  if (!sig.signature) return { ok: false, reason: 'a signature layer has no signature annotation' };
  const raw = Buffer.from(sig.signature, 'base64');
  const key = keys.find((k) => signedBy(k.key, sig.payload, raw));
  if (!key) return { ok: false, reason: 'no trusted key made the signature' };
  let claims: ReturnType<typeof parseSigstorePayload>;
  try {
    claims = parseSigstorePayload(sig.payload);
  } catch (err) {
    return { ok: false, reason: `invalid payload: ${(err as Error).message}` };
  }
  let algorithm: ReturnType<typeof parseDigest>['algorithm'];
  try {
    algorithm = parseDigest(claims.manifestDigest).algorithm;
  } catch {
    return { ok: false, reason: `invalid digest ${claims.manifestDigest} in the signature` };
  }
  const actual = digestOf(image.rootBytes, algorithm);
  if (actual !== claims.manifestDigest) {
    return {
      ok: false,
      reason: `the signature is for manifest ${claims.manifestDigest}, not ${actual}`,
    };
  }
  if (!identityMatches(rule, image.intended, claims.dockerReference)) {
    return {
      ok: false,
      reason: `signed identity ${claims.dockerReference} is not accepted for ${image.intended} (${describeIdentity(rule)})`,
    };
  }
  return { ok: true, identity: claims.dockerReference, key: key.origin };
}
