import { createECDH, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { Alert, fail, Group } from './wire.js';

/** One ephemeral key pair of a named group: the share to send and the shared secret. */
export interface KeyShare {
  group: number;
  /** The public value as the key_share extension carries it (§4.2.8.2). */
  publicValue: Buffer;
  /** The (EC)DHE secret with the server's public value; `illegal_parameter` if invalid. */
  agree(peer: Buffer): Buffer;
}

/** The groups offered, in order of preference (the first one gets a share up front). */
export const GROUPS = [Group.x25519, Group.secp256r1, Group.secp384r1] as const;

function x25519(): KeyShare {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return {
    group: Group.x25519,
    publicValue: Buffer.from(jwk.x as string, 'base64url'),
    agree(peer) {
      if (peer.length !== 32) throw fail(Alert.illegalParameter, 'x25519 share is not 32 bytes');
      const key = createPublicKey({
        key: { kty: 'OKP', crv: 'X25519', x: peer.toString('base64url') },
        format: 'jwk',
      });
      const shared = diffieHellman({ privateKey, publicKey: key });
      // RFC 8446 §7.4.2: an all-zero result (a small-order point) MUST be refused.
      if (shared.every((b) => b === 0)) throw fail(Alert.illegalParameter, 'x25519 result is zero');
      return shared;
    },
  };
}

function ecdh(group: number, curve: string, pointLength: number): KeyShare {
  const key = createECDH(curve);
  const publicValue = key.generateKeys();
  return {
    group,
    publicValue,
    agree(peer) {
      // Only uncompressed points (§4.2.8.2); OpenSSL checks the point is on the curve.
      if (peer.length !== pointLength || peer[0] !== 4) {
        throw fail(Alert.illegalParameter, `${curve} share is not an uncompressed point`);
      }
      try {
        return key.computeSecret(peer);
      } catch (err) {
        throw fail(Alert.illegalParameter, `${curve} share is not a point on the curve`, err);
      }
    },
  };
}

/** A new key pair for `group`. */
export function newKeyShare(group: number): KeyShare {
  if (group === Group.x25519) return x25519();
  if (group === Group.secp256r1) return ecdh(group, 'prime256v1', 65);
  if (group === Group.secp384r1) return ecdh(group, 'secp384r1', 97);
  throw fail(Alert.illegalParameter, `group ${group} was not offered`);
}
