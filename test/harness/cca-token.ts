import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { encode, Tag } from 'cbor2';

/**
 * Arm CCA attestation tokens made the way a realm's RMM makes them (RMM spec, "Realm
 * attestation token"): CBOR tag 399 holding the platform token (key 44234) and the realm
 * token (key 44241), each a COSE_Sign1 (tag 18). The realm token is signed ES384 by the
 * realm attestation key, whose public key is realm claim 44237; the platform token's
 * challenge (claim 10) is the hash of that key (the binding), by the algorithm in claim
 * 44240.
 */

/** What a test chooses about a token; everything else gets realistic values. */
export interface TokenParts {
  /** Realm claim 10: SHA-512(nonce ‖ SPKI) for a fresh token. */
  challenge: Uint8Array;
  /** Realm initial measurement (44238), 64 bytes. */
  rim?: Buffer;
  /** The four realm extensible measurements (44239). */
  rems?: Buffer[];
  /** Realm personalization value (44235). */
  personalization?: Buffer;
  /** Realm measurement hash algorithm (44236), `sha-512` by default. */
  hashAlgorithm?: string;
  /** Sign the realm token with this key instead of the one in claim 44237 (a forgery). */
  signWith?: KeyObject;
  /** Put this in the platform challenge instead of the hash of the realm key. */
  platformChallenge?: Buffer;
}

/** Values a token of the tests' "good" realm carries, and the reference values to match. */
export const GOOD_REALM = {
  rim: Buffer.alloc(64, 0x11),
  rems: [
    Buffer.alloc(64, 0x21),
    Buffer.alloc(64, 0x22),
    Buffer.alloc(64, 0x23),
    Buffer.alloc(64, 0x24),
  ],
  personalization: Buffer.alloc(64, 0),
  hashAlgorithm: 'sha-512',
};

/** cbor2 writes a Buffer as an object (its toJSON); byte strings must be plain Uint8Arrays. */
const bstr = (b: Uint8Array): Uint8Array => new Uint8Array(b);

function sign1(payload: Map<number, unknown>, key: KeyObject): Tag {
  const protectedHeader = encode(new Map([[1, -35]])); // alg: ES384
  const payloadBytes = encode(payload);
  const toBeSigned = encode(['Signature1', protectedHeader, new Uint8Array(0), payloadBytes]);
  const signature = sign('sha384', toBeSigned, { key, dsaEncoding: 'ieee-p1363' });
  return new Tag(18, [protectedHeader, new Map(), payloadBytes, bstr(signature)]);
}

/** The uncompressed point of a P-384 public key (what claim 44237 carries). */
export function rawPoint(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  return Buffer.concat([
    Buffer.of(4),
    Buffer.from(jwk.x as string, 'base64url'),
    Buffer.from(jwk.y as string, 'base64url'),
  ]);
}

/** A CCA token (CBOR bytes). */
export function makeCcaToken(parts: TokenParts): Uint8Array {
  const realmKey = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const platformKey = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const realmPublic = rawPoint(realmKey.publicKey);
  const realmClaims = new Map<number, unknown>([
    [10, bstr(parts.challenge)],
    [44235, bstr(parts.personalization ?? GOOD_REALM.personalization)],
    [44236, parts.hashAlgorithm ?? GOOD_REALM.hashAlgorithm],
    [44237, bstr(realmPublic)],
    [44238, bstr(parts.rim ?? GOOD_REALM.rim)],
    [44239, (parts.rems ?? GOOD_REALM.rems).map(bstr)],
    [44240, 'sha-256'],
    [265, 'tag:arm.com,2023:realm#1.0.0'],
  ]);
  const platformClaims = new Map<number, unknown>([
    [265, 'tag:arm.com,2023:cca_platform#1.0.0'],
    [10, bstr(parts.platformChallenge ?? createHash('sha256').update(realmPublic).digest())],
    [256, bstr(Buffer.concat([Buffer.of(1), randomBytes(32)]))], // instance id
    [2394, 0x3000], // security lifecycle: secured
    [2396, bstr(Buffer.alloc(32, 0x42))], // implementation id
  ]);
  const platform = encode(sign1(platformClaims, platformKey.privateKey));
  const realm = encode(sign1(realmClaims, parts.signWith ?? realmKey.privateKey));
  return encode(
    new Tag(
      399,
      new Map([
        [44234, platform],
        [44241, realm],
      ]),
    ),
  );
}
