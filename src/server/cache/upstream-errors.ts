import { NetworkError, NotFoundError, RegistryError, TlsError } from '../../errors/index.js';
import { RegistryHttpError } from '../registry/http-errors.js';

/** True when upstream said it does not have what was asked for. */
export function isUpstreamNotFound(err: unknown): boolean {
  return err instanceof NotFoundError;
}

/**
 * True when `err` means the upstream cannot answer now: unreachable, broken connections,
 * timeouts, TLS trouble, rate limiting (429) or server errors (5xx), after the client's
 * own retries. Then the cache serves what it holds (stale-if-error).
 */
export function isUpstreamUnavailable(err: unknown): boolean {
  if (err instanceof NetworkError || err instanceof TlsError) return true;
  return err instanceof RegistryError && (err.status === 429 || err.status >= 500);
}

/**
 * The answer to a client when upstream failed and the cache holds nothing to serve:
 * 429 stays 429 (the client should slow down too), anything else is 502 `UNAVAILABLE`
 * naming the upstream and its error in one line.
 */
export function upstreamHttpError(err: unknown, registry: string): RegistryHttpError {
  const message = `upstream ${registry}: ${err instanceof Error ? err.message : String(err)}`;
  if (err instanceof RegistryError && err.status === 429) {
    return new RegistryHttpError(429, 'TOOMANYREQUESTS', message);
  }
  return new RegistryHttpError(502, 'UNAVAILABLE', message);
}
