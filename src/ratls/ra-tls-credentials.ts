import type { ClientCertificateProvider } from '../tls13/client-handshake.js';
import { Alert, fail } from '../tls13/wire.js';
import {
  newRaTlsKey,
  type RaTlsKey,
  raTlsCertificate,
  realmChallenge,
} from './client-certificate.js';

/**
 * Gives a CCA attestation token bound to `challenge` (64 bytes: SHA-512 of the server's
 * nonce and the client key). A program inside a realm asks its attestation service
 * (RSI) for a fresh token; `--token FILE` is a provider that ignores the challenge.
 */
export type TokenProvider = (challenge: Uint8Array) => Promise<Uint8Array>;

/** Canonical base64, as islet's server writes the nonce. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The nonce of an RA-TLS certificate request: the single `certificate_authorities` entry,
 * the base64 ASCII of the nonce (not a DER name).
 */
export function raTlsNonce(authorities: readonly Buffer[]): Buffer {
  const [entry] = authorities;
  const text = entry?.toString('latin1') ?? '';
  if (authorities.length !== 1 || !BASE64.test(text) || text.length === 0) {
    throw fail(
      Alert.handshakeFailure,
      `the registry's certificate request is not RA-TLS (expected one base64 nonce as its certificate authority, got ${authorities.length} entries)`,
    );
  }
  return Buffer.from(text, 'base64');
}

/**
 * The client certificate provider of RA-TLS: for each server nonce, a certificate over the
 * client's RSA key (made on first use, then kept, as islet's client does) carrying a token
 * the provider binds to SHA-512(nonce ‖ SPKI).
 */
export function raTlsCredentials(tokens: TokenProvider): ClientCertificateProvider {
  let key: Promise<RaTlsKey> | undefined;
  return async (request) => {
    const nonce = raTlsNonce(request.authorities);
    key ??= newRaTlsKey();
    const pair = await key;
    const token = await tokens(realmChallenge(nonce, pair.spki));
    return { chain: [raTlsCertificate(pair, token)], key: pair.privateKey };
  };
}
