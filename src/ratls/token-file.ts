import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../errors/index.js';
import type { TokenProvider } from './ra-tls-credentials.js';

/**
 * The token provider of `--token FILE`: the file's bytes (a CCA token, CBOR), whatever
 * the challenge. Read now, so a wrong path is reported before any connection. Such a token
 * was bound to some earlier challenge; a server that checks the binding refuses it.
 */
export function tokenFile(path: string): TokenProvider {
  let token: Buffer;
  try {
    token = readFileSync(path);
  } catch (err) {
    throw new InvalidArgumentError(`cannot read token file ${path}: ${(err as Error).message}`);
  }
  return async () => token;
}
