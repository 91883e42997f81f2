import type { IncomingMessage } from 'node:http';
import { parseDigest } from '../../digest/index.js';
import type { RegistryStorage, UploadState } from '../storage/registry-storage.js';
import { COMMON_HEADERS, RegistryHttpError } from './http-errors.js';
import { isRepositoryName } from './names.js';
import type { RequestContext } from './router.js';
import { writableRepository } from './write-access.js';

/** `Range: 0-N` of an upload, as distribution writes it (`0-0` when empty). */
function rangeOf(state: UploadState): string {
  return `0-${Math.max(0, state.offset - 1)}`;
}

function uploadLocation(state: UploadState): string {
  return `/v2/${state.repository}/blobs/uploads/${state.id}`;
}

function sendUploadState(ctx: RequestContext, status: number, state: UploadState): void {
  ctx.res.writeHead(status, {
    ...COMMON_HEADERS,
    Location: uploadLocation(state),
    Range: rangeOf(state),
    'Docker-Upload-UUID': state.id,
    'Content-Length': '0',
  });
  ctx.res.end();
}

function sendBlobCreated(ctx: RequestContext, name: string, digest: string): void {
  ctx.res.writeHead(201, {
    ...COMMON_HEADERS,
    Location: `/v2/${name}/blobs/${digest}`,
    'Docker-Content-Digest': digest,
    'Content-Length': '0',
  });
  ctx.res.end();
}

/** True when the request carries a body (a length over 0, or chunked coding). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** The declared body length, refused up front when past the blob size cap. */
function declaredLength(ctx: RequestContext, offset = 0): number | undefined {
  const header = ctx.req.headers['content-length'];
  if (header === undefined) return undefined;
  if (!/^\d+$/.test(header)) throw new RegistryHttpError(400, 'SIZE_INVALID', 'bad Content-Length');
  const length = Number(header);
  const cap = ctx.config.maxBlobBytes;
  if (cap !== undefined && offset + length > cap) {
    throw new RegistryHttpError(413, 'SIZE_INVALID', `blob exceeds the limit of ${cap} bytes`);
  }
  return length;
}

/**
 * `Content-Range` of a chunk: `START-END` as the spec writes it (also `bytes START-END/N`
 * as some clients send). Returns the start and the length it implies.
 */
function chunkRange(ctx: RequestContext): { start: number; length: number } | undefined {
  const header = ctx.req.headers['content-range'];
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) throw new RegistryHttpError(416, 'BLOB_UPLOAD_INVALID', `bad Content-Range "${header}"`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start)
    throw new RegistryHttpError(416, 'BLOB_UPLOAD_INVALID', `bad Content-Range "${header}"`);
  return { start, length: end - start + 1 };
}

function uploadId(ctx: RequestContext): string {
  const id = ctx.params.id ?? '';
  if (!/^[0-9a-f-]{36}$/.test(id)) {
    throw new RegistryHttpError(404, 'BLOB_UPLOAD_UNKNOWN', `blob upload ${id} unknown`);
  }
  return id;
}

async function sessionOf(ctx: RequestContext, storage: RegistryStorage, name: string) {
  const id = uploadId(ctx);
  const state = await storage.uploadState(name, id, { signal: ctx.signal });
  if (!state) throw new RegistryHttpError(404, 'BLOB_UPLOAD_UNKNOWN', `blob upload ${id} unknown`);
  return state;
}

/**
 * `POST /v2/NAME/blobs/uploads/`: start an upload (202); with `?digest=` and a body, a
 * whole blob in one request (201); with `?mount=`, a cross-repository mount (201) or,
 * when there is nothing to mount, a new upload (202).
 */
export async function handleUploadStart(ctx: RequestContext): Promise<void> {
  const { storage, name } = await writableRepository(ctx);
  const mount = ctx.query.get('mount');
  if (mount) {
    parseDigest(mount);
    const from = ctx.query.get('from') ?? undefined;
    const mountable =
      from === undefined ? ctx.config.anonymousMount : isRepositoryName(from) && ctx.canPull(from);
    if (mountable && (await storage.mountBlob(name, mount, from, { signal: ctx.signal }))) {
      sendBlobCreated(ctx, name, mount);
      return;
    }
  }
  const digest = ctx.query.get('digest');
  if (digest && !mount) {
    parseDigest(digest);
    const length = declaredLength(ctx);
    const blob = await storage.putBlob(name, digest, ctx.req, { signal: ctx.signal, size: length });
    sendBlobCreated(ctx, name, blob.digest);
    return;
  }
  const state = await storage.startUpload(name, { signal: ctx.signal });
  sendUploadState(ctx, 202, state);
}

/** `GET /v2/NAME/blobs/uploads/ID`: where the upload stands (204, `Range`). */
export async function handleUploadStatus(ctx: RequestContext): Promise<void> {
  const { storage, name } = await writableRepository(ctx);
  sendUploadState(ctx, 204, await sessionOf(ctx, storage, name));
}

/** `PATCH /v2/NAME/blobs/uploads/ID`: one chunk, in order (416 otherwise). */
export async function handleUploadChunk(ctx: RequestContext): Promise<void> {
  const { storage, name } = await writableRepository(ctx);
  const id = uploadId(ctx);
  const range = chunkRange(ctx);
  const declared = declaredLength(ctx, range?.start ?? 0);
  const state = await storage.appendUpload(name, id, ctx.req, {
    signal: ctx.signal,
    start: range?.start,
    length: range?.length ?? declared,
  });
  sendUploadState(ctx, 202, state);
}

/** `PUT /v2/NAME/blobs/uploads/ID?digest=`: the optional last chunk, then verify (201). */
export async function handleUploadComplete(ctx: RequestContext): Promise<void> {
  const { storage, name } = await writableRepository(ctx);
  const id = uploadId(ctx);
  const digest = ctx.query.get('digest');
  if (!digest) {
    throw new RegistryHttpError(400, 'DIGEST_INVALID', 'the closing PUT needs ?digest=');
  }
  parseDigest(digest);
  const range = chunkRange(ctx);
  const body = hasBody(ctx.req);
  const declared = body ? declaredLength(ctx, range?.start ?? 0) : undefined;
  const blob = await storage.completeUpload(name, id, digest, body ? ctx.req : undefined, {
    signal: ctx.signal,
    start: range?.start,
    length: range?.length ?? declared,
  });
  sendBlobCreated(ctx, name, blob.digest);
}

/** `DELETE /v2/NAME/blobs/uploads/ID`: cancel the upload (204). */
export async function handleUploadCancel(ctx: RequestContext): Promise<void> {
  const { storage, name } = await writableRepository(ctx);
  const id = uploadId(ctx);
  if (!(await storage.cancelUpload(name, id, { signal: ctx.signal }))) {
    throw new RegistryHttpError(404, 'BLOB_UPLOAD_UNKNOWN', `blob upload ${id} unknown`);
  }
  ctx.res.writeHead(204, COMMON_HEADERS);
  ctx.res.end();
}
