import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { InvalidArgumentError } from '../errors/index.js';
import { Agent } from './undici-parts.js';

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

/** Connection-pool settings that are not about TLS. */
export interface PoolOptions {
  /** Milliseconds to wait for a connection, and for response headers. */
  timeoutMs: number;
  /** Milliseconds a response body may stay silent before it is considered dead. */
  bodyTimeoutMs: number;
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
 * An undici connection pool configured for the given TLS settings. The CA list is the
 * system's plus `caFile`, because Node replaces (not extends) its roots when `ca` is set.
 */
export function createDispatcher(tls: TlsOptions, pool: PoolOptions): Agent {
  const connect: Record<string, unknown> = {
    rejectUnauthorized: tls.verify !== false,
    timeout: pool.timeoutMs,
  };
  if (tls.caFile) {
    connect.ca = [...rootCertificates, ...extraCaFromEnv(), readPem(tls.caFile, 'CA file')];
  }
  if (tls.certFile || tls.keyFile) {
    if (!tls.certFile || !tls.keyFile) {
      throw new InvalidArgumentError('mutual TLS needs both --cert and --key');
    }
    connect.cert = readPem(tls.certFile, 'client certificate');
    connect.key = readPem(tls.keyFile, 'client key');
  }
  return new Agent({
    connect,
    headersTimeout: pool.timeoutMs,
    bodyTimeout: pool.bodyTimeoutMs,
    keepAliveTimeout: 10_000,
    connections: 16,
  });
}
