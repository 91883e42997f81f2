import { createRequire } from 'node:module';
import type * as OpenPgp from 'openpgp';
import { InvalidArgumentError } from '../errors/index.js';
import type { Reference } from '../ref/index.js';
import { readKeyMaterial } from './key-material.js';
import type { KeySource } from './policy.js';
import {
  claimsRefused,
  makeSimpleSigningPayload,
  parseSimpleSigningPayload,
  type SigstoreClaims,
} from './signature-payload.js';
import type { SignedIdentity } from './signed-identity.js';

/*
 * GPG "simple signing" (containers-signature(5)): a signature is a signed OpenPGP message
 * (not a detached signature) whose literal data is the JSON payload. OpenPGP.js does the
 * OpenPGP part: it is the maintained OpenPGP implementation for JavaScript (Proton's,
 * audited), reads what GnuPG writes (compressed messages, RSA and EdDSA keys, protected
 * secret keys) and needs no gpg process, which the product may not start. It is loaded on
 * first use only (a policy with `signedBy`, a GPG signing command): it is large, and the
 * CLI bundle leaves it in node_modules as its own module (scripts/bundle.mjs).
 */

// required, not imported: the CLI bundle's launcher runs it without an ES module loader.
const load = createRequire(import.meta.url);
let openpgpOnce: typeof OpenPgp | undefined;

/** OpenPGP.js, loaded on first use. */
export function openpgp(): typeof OpenPgp {
  openpgpOnce ??= load('openpgp') as typeof OpenPgp;
  return openpgpOnce;
}

/** A public key a `signedBy` requirement trusts, and where it came from (for messages). */
export interface TrustedGpgKey {
  key: OpenPgp.Key;
  /** The primary key's fingerprint, upper case as GnuPG prints it. */
  fingerprint: string;
  origin: string;
}

function isArmored(bytes: Buffer): boolean {
  return bytes.subarray(0, 64).toString('latin1').trimStart().startsWith('-----BEGIN PGP');
}

/**
 * The keys of a `signedBy` requirement: keyrings as `gpg --export` writes them (binary
 * or ASCII-armored, any number of keys) from `keyPath`/`keyPaths`, or base64 of one
 * (`keyData`). A file that cannot be read or holds no key throws an Error naming it.
 */
export async function loadGpgKeys(source: KeySource): Promise<TrustedGpgKey[]> {
  const pgp = openpgp();
  const trusted: TrustedGpgKey[] = [];
  for (const { bytes, origin } of await readKeyMaterial(source)) {
    let keys: OpenPgp.Key[];
    try {
      keys = isArmored(bytes)
        ? await pgp.readKeys({ armoredKeys: bytes.toString('utf8') })
        : await pgp.readKeys({ binaryKeys: bytes });
    } catch (err) {
      throw new Error(`${origin} is not an OpenPGP keyring: ${(err as Error).message}`);
    }
    for (const key of keys) {
      trusted.push({ key, fingerprint: gpgFingerprint(key), origin });
    }
  }
  if (trusted.length === 0) throw new Error('no public keys in the requirement');
  return trusted;
}

/**
 * Check one simple signature as containers/image does, in its order: an OpenPGP signed
 * message with exactly one signature, made by one of `keys` (or a signing subkey of one),
 * whose payload names this manifest and an identity `rule` accepts for `intended`.
 * Resolves to the signed identity and the key, or to the reason it was refused.
 */
export async function checkSimpleSignature(
  signature: Buffer,
  keys: readonly TrustedGpgKey[],
  image: { intended: Reference; rootBytes: Buffer },
  rule: SignedIdentity,
): Promise<{ ok: true; identity: string; key: string } | { ok: false; reason: string }> {
  const pgp = openpgp();
  let result: OpenPgp.VerifyMessageResult<Uint8Array>;
  try {
    const message = await pgp.readMessage({ binaryMessage: signature });
    result = await pgp.verify({
      message,
      verificationKeys: keys.map((k) => k.key),
      format: 'binary',
    });
  } catch (err) {
    return { ok: false, reason: `not an OpenPGP signed message (${(err as Error).message})` };
  }
  if (result.signatures.length !== 1) {
    return { ok: false, reason: `${result.signatures.length} signatures in one message, not 1` };
  }
  const sig = result.signatures[0]!;
  const keyId = sig.keyID.toHex().toUpperCase();
  const key = keys.find((k) => k.key.getKeys(sig.keyID).length > 0);
  if (!key) return { ok: false, reason: `signed by key ${keyId}, which is not trusted here` };
  try {
    await sig.verified;
  } catch (err) {
    return {
      ok: false,
      reason: `the signature by key ${keyId} is invalid: ${(err as Error).message}`,
    };
  }
  let claims: SigstoreClaims;
  try {
    claims = parseSimpleSigningPayload(Buffer.from(result.data));
  } catch (err) {
    return { ok: false, reason: `invalid payload: ${(err as Error).message}` };
  }
  const refused = claimsRefused(claims, image, rule);
  if (refused) return { ok: false, reason: refused };
  return { ok: true, identity: claims.dockerReference, key: `${key.fingerprint} (${key.origin})` };
}

/**
 * A secret key for signing, as `gpg --export-secret-keys [--armor]` writes it, unlocked
 * with `passphrase` when it is protected.
 */
export async function readGpgPrivateKey(
  bytes: Buffer,
  passphrase: string | undefined,
): Promise<OpenPgp.PrivateKey> {
  const pgp = openpgp();
  let key: OpenPgp.PrivateKey;
  try {
    key = isArmored(bytes)
      ? await pgp.readPrivateKey({ armoredKey: bytes.toString('utf8') })
      : await pgp.readPrivateKey({ binaryKey: bytes });
  } catch (err) {
    throw new InvalidArgumentError(`not an OpenPGP secret key: ${(err as Error).message}`);
  }
  if (key.isDecrypted()) return key;
  if (passphrase === undefined) {
    throw new InvalidArgumentError('the OpenPGP key is protected: give --sign-passphrase-file');
  }
  try {
    return await pgp.decryptKey({ privateKey: key, passphrase });
  } catch {
    throw new InvalidArgumentError('wrong passphrase for the OpenPGP key');
  }
}

/** The primary fingerprint of a key, upper case as GnuPG prints it. */
export function gpgFingerprint(key: OpenPgp.Key): string {
  return key.getFingerprint().toUpperCase();
}

/**
 * A simple signature of `claims` made with `privateKey` (from {@link readGpgPrivateKey}:
 * ocipeek loads OpenPGP.js's CommonJS build, whose keys another copy of OpenPGP.js does
 * not accept): the payload containers/image writes, as a signed OpenPGP message (binary),
 * the bytes a lookaside holds.
 */
export async function makeSimpleSignature(
  claims: SigstoreClaims,
  privateKey: OpenPgp.PrivateKey,
  creator: string,
): Promise<Buffer> {
  const pgp = openpgp();
  const message = await pgp.createMessage({ binary: makeSimpleSigningPayload(claims, creator) });
  const signed = await pgp.sign({ message, signingKeys: privateKey, format: 'binary' });
  return Buffer.from(signed as Uint8Array);
}
