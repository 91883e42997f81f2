/** How often and how patiently failed requests are retried. */
export interface RetryOptions {
  /** Attempts after the first one (default 4). */
  retries?: number;
  /** First backoff in milliseconds (default 200); doubles each time, with jitter. */
  minDelayMs?: number;
  /** Longest single wait, including one asked for by `Retry-After` (default 30 s). */
  maxDelayMs?: number;
}

/** Statuses worth retrying: rate limiting and transient server trouble. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * True when `body` is a distribution-spec error answer (`{"errors":[...]}`) byte for byte
 * equal to `previous` and not one saying `UNAVAILABLE` or `TOOMANYREQUESTS`: the registry
 * gave the same considered answer twice, which another try will not change. A gateway's
 * page or an empty body stays worth retrying.
 */
export function isRepeatedRegistryError(
  body: Buffer | undefined,
  previous: Buffer | undefined,
): boolean {
  if (!body || !previous || !body.equals(previous)) return false;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: unknown }> };
    if (!Array.isArray(parsed.errors) || parsed.errors.length === 0) return false;
    // These codes say "later", whatever the status.
    return !parsed.errors.some((e) => e?.code === 'UNAVAILABLE' || e?.code === 'TOOMANYREQUESTS');
  } catch {
    return false;
  }
}

/** Milliseconds a `Retry-After` header asks for (seconds or an HTTP date), if any. */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now = Date.now(),
): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Exponential backoff with full jitter for attempt `n` (0-based), capped. */
export function backoffDelay(n: number, options: RetryOptions = {}): number {
  const min = options.minDelayMs ?? 200;
  const max = options.maxDelayMs ?? 30_000;
  const ceiling = Math.min(max, min * 2 ** n);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Wait `ms`, or reject as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
