import { readFileSync } from 'node:fs';
import type { AgentOptions } from 'node:https';
import { InvalidArgumentError } from '../errors/index.js';
import { tls as loadTls } from '../node/lazy-builtins.js';

/** TLS settings for registry connections. */
export interface TlsOptions {
  /** PEM file of extra CA certificates to trust, on top of the system's. */
  caFile?: string;
  /** PEM client certificate for mutual TLS. */
  certFile?: string;
  /** PEM private key of the client certificate. */
  keyFile?: string;
  /** Verify server certificates (default true). `false` is `--tls-verify=false`. */
  verify?: boolean;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Extra CAs from NODE_EXTRA_CA_CERTS, which Node drops once `ca` is given explicitly. */
function extraCaFromEnv(): string[] {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return [readFileSync(file, 'utf8')];
  } catch {
    return [];
  }
}

/**
 * The TLS part of the HTTPS agent's options. The CA list is the system's plus `caFile`,
 * because Node replaces (not extends) its roots when `ca` is set.
 */
export function tlsAgentOptions(tls: TlsOptions): AgentOptions {
  const options: AgentOptions = { rejectUnauthorized: tls.verify !== false };
  if (tls.caFile) {
    options.ca = [
      ...loadTls().rootCertificates,
      ...extraCaFromEnv(),
      readPem(tls.caFile, 'CA file'),
    ];
  }
  if (tls.certFile || tls.keyFile) {
    if (!tls.certFile || !tls.keyFile) {
      throw new InvalidArgumentError('mutual TLS needs both --cert and --key');
    }
    options.cert = readPem(tls.certFile, 'client certificate');
    options.key = readPem(tls.keyFile, 'client key');
  }
  return options;
}
