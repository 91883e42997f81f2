import { constants, type KeyObject, sign, verify } from 'node:crypto';
import { Alert, fail, SignatureScheme as S } from './wire.js';

/**
 * Schemes accepted in CertificateVerify (RFC 8446 §4.2.3): ECDSA, RSA-PSS, Ed25519. PKCS#1
 * v1.5 is not allowed there in TLS 1.3.
 */
export const HANDSHAKE_SCHEMES = [
  S.ecdsaSecp256r1Sha256,
  S.ecdsaSecp384r1Sha384,
  S.ecdsaSecp521r1Sha512,
  S.ed25519,
  S.rsaPssRsaeSha256,
  S.rsaPssRsaeSha384,
  S.rsaPssRsaeSha512,
  S.rsaPssPssSha256,
  S.rsaPssPssSha384,
  S.rsaPssPssSha512,
];

/** Schemes accepted in certificates (signature_algorithms_cert): the above and PKCS#1. */
export const CERTIFICATE_SCHEMES = [
  ...HANDSHAKE_SCHEMES,
  S.rsaPkcs1Sha256,
  S.rsaPkcs1Sha384,
  S.rsaPkcs1Sha512,
];

interface SchemeRule {
  keyType: string;
  hash: string | null;
  curve?: string;
  pss?: boolean;
}

const RULES = new Map<number, SchemeRule>([
  [S.ecdsaSecp256r1Sha256, { keyType: 'ec', hash: 'sha256', curve: 'prime256v1' }],
  [S.ecdsaSecp384r1Sha384, { keyType: 'ec', hash: 'sha384', curve: 'secp384r1' }],
  [S.ecdsaSecp521r1Sha512, { keyType: 'ec', hash: 'sha512', curve: 'secp521r1' }],
  [S.ed25519, { keyType: 'ed25519', hash: null }],
  [S.rsaPssRsaeSha256, { keyType: 'rsa', hash: 'sha256', pss: true }],
  [S.rsaPssRsaeSha384, { keyType: 'rsa', hash: 'sha384', pss: true }],
  [S.rsaPssRsaeSha512, { keyType: 'rsa', hash: 'sha512', pss: true }],
  [S.rsaPssPssSha256, { keyType: 'rsa-pss', hash: 'sha256', pss: true }],
  [S.rsaPssPssSha384, { keyType: 'rsa-pss', hash: 'sha384', pss: true }],
  [S.rsaPssPssSha512, { keyType: 'rsa-pss', hash: 'sha512', pss: true }],
]);

const HASH_LENGTH: Record<string, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** The bytes a CertificateVerify signs (§4.4.3). */
export function certificateVerifyContent(server: boolean, transcriptHash: Buffer): Buffer {
  const context = server
    ? 'TLS 1.3, server CertificateVerify'
    : 'TLS 1.3, client CertificateVerify';
  return Buffer.concat([
    Buffer.alloc(64, 0x20),
    Buffer.from(context, 'latin1'),
    Buffer.of(0),
    transcriptHash,
  ]);
}

function fits(rule: SchemeRule, key: KeyObject): boolean {
  if (key.asymmetricKeyType !== rule.keyType) return false;
  return !rule.curve || key.asymmetricKeyDetails?.namedCurve === rule.curve;
}

function keyOptions(rule: SchemeRule, key: KeyObject) {
  return rule.pss
    ? {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: HASH_LENGTH[rule.hash as string] as number,
      }
    : { key, dsaEncoding: 'der' as const };
}

/** Check the server's CertificateVerify; a bad or mismatched signature is `decrypt_error`. */
export function verifyHandshakeSignature(
  scheme: number,
  key: KeyObject,
  content: Buffer,
  signature: Buffer,
): void {
  const rule = RULES.get(scheme);
  if (!rule)
    throw fail(Alert.illegalParameter, `signature scheme 0x${scheme.toString(16)} was not offered`);
  if (!fits(rule, key)) {
    throw fail(
      Alert.illegalParameter,
      `signature scheme 0x${scheme.toString(16)} does not fit the server key`,
    );
  }
  let good = false;
  try {
    good = verify(rule.hash, content, keyOptions(rule, key), signature);
  } catch (err) {
    throw fail(Alert.decryptError, 'the server CertificateVerify signature is malformed', err);
  }
  if (!good) throw fail(Alert.decryptError, 'the server CertificateVerify signature is wrong');
}

/** The scheme this side signs with: the first of the server's list that fits `key`. */
export function chooseScheme(key: KeyObject, accepted: number[]): number {
  const scheme = accepted.find((s) => {
    const rule = RULES.get(s);
    return rule !== undefined && fits(rule, key);
  });
  if (scheme === undefined) {
    throw fail(Alert.handshakeFailure, 'the server accepts no signature scheme for the client key');
  }
  return scheme;
}

/** Sign `content` with `key` under `scheme` (one {@link chooseScheme} picked). */
export function signHandshake(scheme: number, key: KeyObject, content: Buffer): Buffer {
  const rule = RULES.get(scheme) as SchemeRule;
  return sign(rule.hash, content, keyOptions(rule, key));
}
