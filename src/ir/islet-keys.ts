import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { InvalidArgumentError } from '../errors/index.js';

/**
 * islet's signing keys are ECDSA P-384 (secp384r1), kept as `openssl` writes them: private
 * keys SEC1 or PKCS#8, public keys SPKI, each DER or PEM; a PEM certificate is taken for
 * its public key.
 */
function requireP384(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    throw new InvalidArgumentError(
      `${what} is not an ECDSA P-384 key (${key.asymmetricKeyType}${curve ? ` ${curve}` : ''}); islet signs with secp384r1`,
    );
  }
  return key;
}

function isPem(bytes: Buffer): boolean {
  return bytes.subarray(0, 64).toString('latin1').includes('-----BEGIN');
}

/** A P-384 private key from PEM or DER (SEC1 or PKCS#8) bytes; `what` names it in errors. */
export function isletPrivateKey(bytes: Buffer, what: string): KeyObject {
  const attempts: (() => KeyObject)[] = isPem(bytes)
    ? [() => createPrivateKey(bytes)]
    : [
        () => createPrivateKey({ key: bytes, format: 'der', type: 'sec1' }),
        () => createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' }),
      ];
  for (const attempt of attempts) {
    try {
      return requireP384(attempt(), what);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
    }
  }
  throw new InvalidArgumentError(`${what} is not a private key (PEM, or DER SEC1/PKCS#8)`);
}

/**
 * A P-384 public key from PEM or DER bytes: SPKI, a certificate, or a private key (whose
 * public half is taken); `what` names it in errors.
 */
export function isletPublicKey(bytes: Buffer, what: string): KeyObject {
  const attempts: (() => KeyObject)[] = isPem(bytes)
    ? [() => new X509Certificate(bytes).publicKey, () => createPublicKey(bytes)]
    : [
        () => createPublicKey({ key: bytes, format: 'der', type: 'spki' }),
        () => new X509Certificate(bytes).publicKey,
        () => createPublicKey(isletPrivateKey(bytes, what)),
      ];
  for (const attempt of attempts) {
    try {
      return requireP384(attempt(), what);
    } catch (err) {
      if (err instanceof InvalidArgumentError && !/is not a private key/.test(err.message))
        throw err;
    }
  }
  throw new InvalidArgumentError(`${what} is not a public key (PEM, or DER SPKI)`);
}

/** The SPKI DER of a key's public half: what islet's vendor signature covers. */
export function spkiDer(key: KeyObject): Buffer {
  return createPublicKey(key).export({ type: 'spki', format: 'der' });
}
