import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../errors/index.js';

/**
 * A passphrase file as containers/image reads it: the whole file without its final
 * newline.
 */
async function readPassphraseFile(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (err) {
    throw new InvalidArgumentError(
      `cannot read passphrase file ${path}: ${(err as Error).message}`,
    );
  }
}

/** Read and decrypt a sigstore private key file (`--sign-passphrase-file` is required). */
export async function loadSigningKey(keyPath: string, passphraseFile?: string): Promise<KeyObject> {
  if (!passphraseFile) {
    throw new InvalidArgumentError(
      'signing needs --sign-passphrase-file (ocipeek does not prompt)',
    );
  }
  let pem: string;
  try {
    pem = await readFile(keyPath, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read key ${keyPath}: ${(err as Error).message}`);
  }
  // The key code (scrypt, XSalsa20-Poly1305) is loaded only by commands that sign.
  const { readSigstorePrivateKey } = await import('../trust/sigstore-key.js');
  return readSigstorePrivateKey(pem, await readPassphraseFile(passphraseFile));
}
