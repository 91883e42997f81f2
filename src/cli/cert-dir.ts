import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors/index.js';
import type { TlsOptions } from '../transport/index.js';

/**
 * The TLS files of a containers-certs.d style folder (skopeo's `--cert-dir`): `*.crt` is a
 * CA to trust, `NAME.cert` with `NAME.key` a client certificate. ocipeek trusts one extra
 * CA file, so a folder with several `*.crt` is refused rather than half used.
 */
export function certDirTls(dir: string): Pick<TlsOptions, 'caFile' | 'certFile' | 'keyFile'> {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    throw new InvalidArgumentError(`cannot read --cert-dir ${dir}: ${(err as Error).message}`);
  }
  const cas = names.filter((n) => n.endsWith('.crt'));
  if (cas.length > 1) {
    throw new InvalidArgumentError(
      `--cert-dir ${dir} holds ${cas.length} CA files (${cas.join(', ')}); ocipeek trusts one: merge them into one .crt`,
    );
  }
  const cert = names.find((n) => n.endsWith('.cert') && names.includes(`${n.slice(0, -5)}.key`));
  return {
    caFile: cas[0] ? join(dir, cas[0]) : undefined,
    certFile: cert ? join(dir, cert) : undefined,
    keyFile: cert ? join(dir, `${cert.slice(0, -5)}.key`) : undefined,
  };
}
