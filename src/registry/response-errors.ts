import {
  NotFoundError,
  NotRegistryError,
  type OcipeekError,
  RegistryError,
  UnauthorizedError,
} from '../errors/index.js';
import type { RegistryResponse, RegistryTransport } from '../transport/index.js';
import { readCapped } from '../transport/read-capped.js';

const ERROR_BODY_LIMIT = 64 * 1024;

interface RegistryErrorBody {
  errors?: Array<{ code?: string; message?: string; detail?: unknown }>;
}

/** Where a response came from, so that a bare 404 can be checked against `GET /v2/`. */
export interface ResponseOrigin {
  transport: RegistryTransport;
  registry: string;
  signal?: AbortSignal;
}

/**
 * A 404 that carries no distribution error code may come from a web server that is not a
 * registry at all (skopeo reports those as a failed registry ping). Its `GET /v2/` tells:
 * a registry answers 200 or 401; a 4xx other than 401, 403 and 429 means it is not one.
 */
async function notRegistry(origin: ResponseOrigin): Promise<NotRegistryError | undefined> {
  const status = await origin.transport.apiStatus(origin.registry, origin.signal);
  const registryLike = status < 400 || status >= 500 || [401, 403, 429].includes(status);
  return registryLike ? undefined : new NotRegistryError(origin.registry, status);
}

/**
 * A 404 for a caller that takes "not found" as an answer (a blob's `HEAD`, the referrers
 * API, whose absence means "use the tag schema"): resolves to the {@link NotFoundError}
 * when the 404 is the registry's own, and throws the {@link NotRegistryError} when it is
 * not, by the one rule {@link errorFromResponse} applies to blob and manifest reads (a 404
 * without a distribution error code is the registry's when its `GET /v2/` answers like
 * one). A proxy's or web server's 404 is then never read as "absent".
 */
export async function registryNotFound(
  res: RegistryResponse,
  what: string,
  origin: ResponseOrigin,
): Promise<NotFoundError> {
  const err = await errorFromResponse(res, what, origin);
  if (err instanceof NotFoundError) return err;
  throw err;
}

/**
 * Turn a failed registry response into a one-line error. Reads at most 64 KiB of the
 * body for the distribution-spec error list; `what` names the thing asked for. With
 * `origin`, a 404 without an error code is checked to come from a registry
 * ({@link NotRegistryError} otherwise).
 */
export async function errorFromResponse(
  res: RegistryResponse,
  what: string,
  origin?: ResponseOrigin,
): Promise<OcipeekError> {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const body = await readCapped(res.body, ERROR_BODY_LIMIT, 'error body');
    if (body.length > 0) {
      const parsed = JSON.parse(body.toString('utf8')) as RegistryErrorBody;
      const first = parsed.errors?.[0];
      code = first?.code;
      message = first?.message;
    }
  } catch {
    // A malformed or oversized error body still leaves the status to report.
    res.body.destroy();
  }
  const detail = message ? `: ${message}` : '';
  if (res.status === 404) {
    const other = !code && origin ? await notRegistry(origin) : undefined;
    if (other) return other;
    const kind = code ? code.toLowerCase().replace(/_/g, ' ') : 'not found';
    return new NotFoundError(`${kind}: ${what}${detail}`, code);
  }
  if (res.status === 401 || res.status === 403) {
    const verb = res.status === 401 ? 'unauthorized' : 'denied';
    return new UnauthorizedError(`${verb}: ${what}${detail}`, res.status);
  }
  return new RegistryError(
    `registry answered ${res.status}${code ? ` ${code}` : ''} for ${what}${detail}`,
    res.status,
    code,
  );
}
