import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  scrypt,
} from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa.js';
import { InvalidArgumentError } from '../errors/index.js';

/**
 * Sigstore private keys as cosign writes them and containers/image reads them: a PEM
 * block `ENCRYPTED SIGSTORE PRIVATE KEY` (older cosign: `ENCRYPTED COSIGN PRIVATE KEY`)
 * whose bytes are JSON (go-securesystemslib's "encrypted" format): the PKCS #8 key sealed
 * with NaCl secretbox (XSalsa20-Poly1305, the audited `@noble/ciphers`) under a key that
 * scrypt derives from the passphrase. Node has scrypt but no XSalsa20.
 */

const PEM_TYPES = ['ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY'];
/** scrypt cost parameters readers accept (the original, and cosign 2's stronger N). */
const ACCEPTED_N = new Set([32768, 65536]);
const WRITE_N = 32768;

function deriveKey(passphrase: Buffer, salt: Buffer, N: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(passphrase, salt, 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

function pemBody(pem: string): { type: string; bytes: Buffer } {
  const m = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) throw new InvalidArgumentError('the sigstore private key is not a PEM block');
  return { type: m[1]!, bytes: Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64') };
}

/** Whether `pem` holds a sigstore (or older cosign) encrypted private key block. */
export function isSigstorePrivateKeyPem(pem: string): boolean {
  const type = /-----BEGIN ([A-Z ]+)-----/.exec(pem)?.[1];
  return type !== undefined && PEM_TYPES.includes(type);
}

interface EncryptedKey {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

/**
 * Decrypt a sigstore private key file's text with its passphrase. Wrong passphrases and
 * damaged files are an {@link InvalidArgumentError}.
 */
export async function readSigstorePrivateKey(
  pem: string,
  passphrase: string | Buffer,
): Promise<KeyObject> {
  const { type, bytes } = pemBody(pem);
  if (!PEM_TYPES.includes(type)) {
    throw new InvalidArgumentError(`unsupported private key type "${type}" (want ${PEM_TYPES[0]})`);
  }
  let data: EncryptedKey;
  try {
    data = JSON.parse(bytes.toString('utf8')) as EncryptedKey;
  } catch {
    throw new InvalidArgumentError('the sigstore private key is damaged (not JSON)');
  }
  const { kdf, cipher } = data;
  if (kdf?.name !== 'scrypt' || cipher?.name !== 'nacl/secretbox') {
    throw new InvalidArgumentError('the sigstore private key uses an unknown kdf or cipher');
  }
  if (!ACCEPTED_N.has(kdf.params?.N) || kdf.params.r !== 8 || kdf.params.p !== 1) {
    throw new InvalidArgumentError('the sigstore private key has unexpected scrypt parameters');
  }
  const key = await deriveKey(
    Buffer.from(passphrase),
    Buffer.from(kdf.salt, 'base64'),
    kdf.params.N,
  );
  const nonce = Buffer.from(cipher.nonce, 'base64');
  if (nonce.length !== 24)
    throw new InvalidArgumentError('the sigstore private key is damaged (nonce)');
  let der: Uint8Array;
  try {
    der = xsalsa20poly1305(key, nonce).decrypt(Buffer.from(data.ciphertext, 'base64'));
  } catch {
    throw new InvalidArgumentError('cannot decrypt the sigstore private key (wrong passphrase?)');
  }
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
}

/** A new sigstore key pair: the encrypted private key and the public key, both PEM. */
export async function generateSigstoreKeyPair(
  passphrase: string | Buffer,
): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKeyPem: await encryptSigstorePrivateKey(privateKey, passphrase),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Seal a private key in the encrypted sigstore format (scrypt N=32768, r=8, p=1). */
export async function encryptSigstorePrivateKey(
  privateKey: KeyObject,
  passphrase: string | Buffer,
): Promise<string> {
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const key = await deriveKey(Buffer.from(passphrase), salt, WRITE_N);
  const sealed = xsalsa20poly1305(key, nonce).encrypt(der);
  const json = JSON.stringify({
    kdf: { name: 'scrypt', params: { N: WRITE_N, r: 8, p: 1 }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(sealed).toString('base64'),
  });
  const lines =
    Buffer.from(json)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${PEM_TYPES[0]}-----\n${lines.join('\n')}\n-----END ${PEM_TYPES[0]}-----\n`;
}

/** The public key of a private key, as PEM (`PUBLIC KEY`, what policy.json's keyPath holds). */
export function publicKeyPem(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
}
