import { createHash, generateKeyPair, type KeyObject, randomBytes, sign } from 'node:crypto';
import { promisify } from 'node:util';
import {
  bitString,
  explicit,
  integer,
  nullValue,
  objectId,
  octetString,
  sequence,
  time,
} from './der.js';

/** The X.509 extension that carries the CCA token in an RA-TLS client certificate. */
export const CCA_TOKEN_EXTENSION = '1.3.3.3.7';
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';

/** A client's RA-TLS key: RSA-2048, made once per client (as islet's client does). */
export interface RaTlsKey {
  privateKey: KeyObject;
  /** The SubjectPublicKeyInfo DER the challenge is bound to. */
  spki: Buffer;
}

/** A new RA-TLS key pair (RSA-2048, e = 65537). */
export async function newRaTlsKey(): Promise<RaTlsKey> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
  });
  return { privateKey, spki: publicKey.export({ type: 'spki', format: 'der' }) };
}

/**
 * The realm challenge an RA-TLS server expects in the token: SHA-512(nonce ‖ SPKI DER),
 * which binds the token to this connection (the nonce) and to the key that signs the
 * handshake.
 */
export function realmChallenge(nonce: Uint8Array, spki: Uint8Array): Buffer {
  return createHash('sha512').update(nonce).update(spki).digest();
}

/**
 * The self-signed certificate islet's RA-TLS client presents: X.509 v3, empty subject and
 * issuer, valid from 2021-05-19 to 4096-01-01, signed sha256WithRSAEncryption, with one
 * non-critical extension {@link CCA_TOKEN_EXTENSION} whose value is the token's bytes.
 */
export function raTlsCertificate(key: RaTlsKey, token: Uint8Array): Buffer {
  const algorithm = sequence(objectId(SHA256_WITH_RSA), nullValue());
  const serial = randomBytes(16);
  serial[0] = ((serial[0] as number) & 0x7f) | 0x01; // positive, 16 bytes, never zero
  const emptyName = sequence();
  const tbs = sequence(
    explicit(0, integer(Buffer.of(2))),
    integer(serial),
    algorithm,
    emptyName,
    sequence(time(new Date(Date.UTC(2021, 4, 19))), time(new Date(Date.UTC(4096, 0, 1)))),
    emptyName,
    key.spki,
    explicit(3, sequence(sequence(objectId(CCA_TOKEN_EXTENSION), octetString(token)))),
  );
  const signature = sign('sha256', tbs, key.privateKey);
  return sequence(tbs, algorithm, bitString(signature));
}
