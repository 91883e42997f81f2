import {
  NotFoundError,
  type OcipeekError,
  RegistryError,
  UnauthorizedError,
} from '../errors/index.js';
import type { RegistryResponse } from '../transport/index.js';
import { readCapped } from '../transport/read-capped.js';

const ERROR_BODY_LIMIT = 64 * 1024;

interface RegistryErrorBody {
  errors?: Array<{ code?: string; message?: string; detail?: unknown }>;
}

/**
 * Turn a failed registry response into a one-line error. Reads at most 64 KiB of the
 * body for the distribution-spec error list; `what` names the thing asked for.
 */
export async function errorFromResponse(
  res: RegistryResponse,
  what: string,
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
