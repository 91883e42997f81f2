import type { ServerResponse } from 'node:http';
import {
  DigestMismatchError,
  InvalidDigestError,
  isOcipeekError,
  NotFoundError,
  SizeMismatchError,
  TooLargeError,
} from '../../errors/index.js';
import { RegistryStorageError, type StorageProblem } from '../storage/storage-error.js';

/** Status and spec code of each refusal a storage can make. */
const STORAGE_PROBLEMS: Record<StorageProblem, [number, string]> = {
  'upload-unknown': [404, 'BLOB_UPLOAD_UNKNOWN'],
  range: [416, 'BLOB_UPLOAD_INVALID'],
  busy: [416, 'BLOB_UPLOAD_INVALID'],
  'blob-unknown': [404, 'BLOB_UNKNOWN'],
  'manifest-blob-unknown': [400, 'MANIFEST_BLOB_UNKNOWN'],
  'too-large': [413, 'SIZE_INVALID'],
  'digest-invalid': [400, 'DIGEST_INVALID'],
  denied: [403, 'DENIED'],
  referenced: [409, 'DENIED'],
};

/**
 * An error answer in the distribution spec's shape. Handlers throw it; the server turns
 * it into `{"errors":[{"code","message"}]}` with the status.
 */
export class RegistryHttpError extends Error {
  constructor(
    readonly status: number,
    readonly registryCode: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'RegistryHttpError';
  }
}

/** Headers every answer carries. */
export const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'Docker-Distribution-API-Version': 'registry/2.0',
  'X-Content-Type-Options': 'nosniff',
};

/** Send `body` as JSON with `status` (no body for HEAD). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json',
): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'Content-Type': contentType,
    'Content-Length': String(bytes.length),
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}

/** Translate anything thrown by a handler or backend into a registry error answer. */
export function toHttpError(err: unknown): RegistryHttpError {
  if (err instanceof RegistryHttpError) return err;
  if (err instanceof RegistryStorageError) {
    const [status, code] = STORAGE_PROBLEMS[err.problem];
    const offset = err.detail?.offset;
    // After a 416 the client asks for the state, or reads it here.
    const headers: Record<string, string> =
      offset === undefined ? {} : { Range: `0-${Math.max(0, offset - 1)}` };
    return new RegistryHttpError(status, code, err.message, headers);
  }
  if (err instanceof TooLargeError) return new RegistryHttpError(413, 'SIZE_INVALID', err.message);
  if (err instanceof InvalidDigestError) {
    return new RegistryHttpError(400, 'DIGEST_INVALID', err.message);
  }
  if (err instanceof NotFoundError) {
    return new RegistryHttpError(404, err.registryCode ?? 'NAME_UNKNOWN', err.message);
  }
  if (err instanceof DigestMismatchError || err instanceof SizeMismatchError) {
    // The content on disk is corrupt: a server fault, not the client's.
    return new RegistryHttpError(500, 'UNKNOWN', `stored content is corrupt: ${err.message}`);
  }
  const message = isOcipeekError(err) || err instanceof Error ? err.message : String(err);
  return new RegistryHttpError(500, 'UNKNOWN', message);
}

/** Send `err` as a registry error answer. */
export function sendError(res: ServerResponse, err: RegistryHttpError): void {
  sendJson(
    res,
    err.status,
    { errors: [{ code: err.registryCode, message: err.message, detail: null }] },
    err.headers,
  );
}
