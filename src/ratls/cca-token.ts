import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { decode, encode, Tag } from 'cbor2';
import { InvalidAttestationTokenError } from '../errors/index.js';

/*
 * Arm CCA attestation tokens (RMM specification, "Realm attestation token"): CBOR tag 399
 * holding the platform token (key 44234) and the realm token (key 44241), each a
 * COSE_Sign1 (tag 18) in a byte string. Decoded so users debugging RA-TLS can see what
 * they send; the realm signature and the platform binding are checked as a server does.
 */

const TAG_CCA_TOKEN = 399;
const TAG_COSE_SIGN1 = 18;
const PLATFORM_TOKEN = 44234;
const REALM_TOKEN = 44241;
const ALGORITHMS: Record<number, { hash: string; curve: string; size: number }> = {
  [-7]: { hash: 'sha256', curve: 'P-256', size: 32 },
  [-35]: { hash: 'sha384', curve: 'P-384', size: 48 },
  [-36]: { hash: 'sha512', curve: 'P-521', size: 66 },
};

/** The realm token's claims. */
export interface RealmClaims {
  /** Claim 10: 64 bytes; SHA-512(nonce ‖ SPKI) in RA-TLS. */
  challenge: Buffer;
  /** 44235. */
  personalization: Buffer;
  /** 44236: the measurements' hash algorithm (`sha-256`, `sha-512`). */
  hashAlgorithm: string;
  /** 44237: the realm attestation key that signs the realm token. */
  publicKey: Buffer;
  /** 44240: how the platform token hashes that key (the binding). */
  publicKeyHashAlgorithm: string;
  /** 44238: realm initial measurement. */
  rim: Buffer;
  /** 44239: the four realm extensible measurements. */
  rems: Buffer[];
  /** 265, when present. */
  profile?: string;
}

/** A decoded CCA token and what could be checked from the token alone. */
export interface CcaTokenReport {
  realm: RealmClaims;
  /** The platform token's claims, keyed by number (platform key claims are not checked). */
  platform: Map<number, unknown>;
  /** The realm token's COSE_Sign1 signature verifies with the key in claim 44237. */
  realmSignatureValid: boolean;
  /** The platform token's challenge is the hash of the realm key (the binding). */
  bindingValid: boolean;
}

function bad(message: string, cause?: unknown): InvalidAttestationTokenError {
  return new InvalidAttestationTokenError(`not a CCA token: ${message}`, { cause });
}

function decodeStrict(bytes: Uint8Array, what: string): unknown {
  // A plain Uint8Array view: pieces of a Buffer would be Buffers, which cbor2 encodes as
  // objects (their toJSON) when the signed structure is rebuilt.
  const plain = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return decode(plain, { preferMap: true, rejectDuplicateKeys: true });
  } catch (err) {
    throw bad(`${what} is not CBOR (${(err as Error).message})`, err);
  }
}

interface Sign1 {
  protectedBytes: Uint8Array;
  payloadBytes: Uint8Array;
  signature: Uint8Array;
  claims: Map<unknown, unknown>;
  algorithm: number;
}

function sign1(bytes: unknown, what: string): Sign1 {
  if (!(bytes instanceof Uint8Array)) throw bad(`the ${what} token is not a byte string`);
  const value = decodeStrict(bytes, `the ${what} token`);
  if (!(value instanceof Tag) || value.tag !== TAG_COSE_SIGN1 || !Array.isArray(value.contents)) {
    throw bad(`the ${what} token is not a COSE_Sign1 (tag 18)`);
  }
  const [protectedBytes, , payloadBytes, signature] = value.contents as unknown[];
  if (
    !(protectedBytes instanceof Uint8Array) ||
    !(payloadBytes instanceof Uint8Array) ||
    !(signature instanceof Uint8Array)
  ) {
    throw bad(`the ${what} token's COSE_Sign1 fields are not byte strings`);
  }
  const header = protectedBytes.length
    ? decodeStrict(protectedBytes, 'a protected header')
    : new Map();
  const claims = decodeStrict(payloadBytes, `the ${what} claims`);
  if (!(header instanceof Map) || !(claims instanceof Map))
    throw bad(`the ${what} token is malformed`);
  return { protectedBytes, payloadBytes, signature, claims, algorithm: Number(header.get(1)) };
}

function bytesClaim(claims: Map<unknown, unknown>, key: number, name: string): Buffer {
  const value = claims.get(key);
  if (!(value instanceof Uint8Array)) throw bad(`realm claim ${key} (${name}) is missing`);
  return Buffer.from(value);
}

function textClaim(claims: Map<unknown, unknown>, key: number, name: string): string {
  const value = claims.get(key);
  if (typeof value !== 'string') throw bad(`realm claim ${key} (${name}) is missing`);
  return value;
}

/** The realm key: an uncompressed EC point, or a COSE_Key (EC2) map. */
function realmKey(raw: Buffer, curve: string, size: number): KeyObject | undefined {
  let x: Buffer | undefined;
  let y: Buffer | undefined;
  if (raw[0] === 4 && raw.length === 1 + 2 * size) {
    x = raw.subarray(1, 1 + size);
    y = raw.subarray(1 + size);
  } else {
    const key = decodeStrict(raw, 'the realm public key');
    if (
      key instanceof Map &&
      key.get(-2) instanceof Uint8Array &&
      key.get(-3) instanceof Uint8Array
    ) {
      x = Buffer.from(key.get(-2) as Uint8Array);
      y = Buffer.from(key.get(-3) as Uint8Array);
    }
  }
  if (!x || !y) return undefined;
  try {
    return createPublicKey({
      key: { kty: 'EC', crv: curve, x: x.toString('base64url'), y: y.toString('base64url') },
      format: 'jwk',
    });
  } catch {
    return undefined;
  }
}

const HASHES: Record<string, string> = {
  'sha-256': 'sha256',
  'sha-384': 'sha384',
  'sha-512': 'sha512',
};

/** Decode a CCA token and check its realm signature and platform binding. */
export function inspectCcaToken(bytes: Uint8Array): CcaTokenReport {
  const top = decodeStrict(bytes, 'the token');
  if (!(top instanceof Tag) || top.tag !== TAG_CCA_TOKEN || !(top.contents instanceof Map)) {
    throw bad('the outer value is not a CCA token collection (tag 399)');
  }
  const platform = sign1(top.contents.get(PLATFORM_TOKEN), 'platform');
  const realm = sign1(top.contents.get(REALM_TOKEN), 'realm');
  const c = realm.claims;
  const remsValue = c.get(44239);
  if (!Array.isArray(remsValue) || !remsValue.every((r) => r instanceof Uint8Array)) {
    throw bad('realm claim 44239 (REMs) is missing');
  }
  const profile = c.get(265);
  const claims: RealmClaims = {
    challenge: bytesClaim(c, 10, 'challenge'),
    personalization: bytesClaim(c, 44235, 'personalization value'),
    hashAlgorithm: textClaim(c, 44236, 'hash algorithm'),
    publicKey: bytesClaim(c, 44237, 'public key'),
    publicKeyHashAlgorithm: textClaim(c, 44240, 'public key hash algorithm'),
    rim: bytesClaim(c, 44238, 'RIM'),
    rems: remsValue.map((r: Uint8Array) => Buffer.from(r)),
    profile: typeof profile === 'string' ? profile : undefined,
  };
  const algorithm = ALGORITHMS[realm.algorithm];
  const key = algorithm && realmKey(claims.publicKey, algorithm.curve, algorithm.size);
  const toBeSigned = encode([
    'Signature1',
    realm.protectedBytes,
    new Uint8Array(0),
    realm.payloadBytes,
  ]);
  const realmSignatureValid = Boolean(
    algorithm &&
      key &&
      verify(algorithm.hash, toBeSigned, { key, dsaEncoding: 'ieee-p1363' }, realm.signature),
  );
  const hash = HASHES[claims.publicKeyHashAlgorithm];
  const platformChallenge = platform.claims.get(10);
  const bindingValid = Boolean(
    hash &&
      platformChallenge instanceof Uint8Array &&
      createHash(hash).update(claims.publicKey).digest().equals(Buffer.from(platformChallenge)),
  );
  return {
    realm: claims,
    platform: platform.claims as Map<number, unknown>,
    realmSignatureValid,
    bindingValid,
  };
}
