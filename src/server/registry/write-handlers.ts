import { parseDigest } from '../../digest/index.js';
import { MAX_MANIFEST_BYTES } from '../../media/index.js';
import { COMMON_HEADERS, RegistryHttpError } from './http-errors.js';
import { checkManifestPush } from './manifest-push.js';
import { isDigestReference, isTag } from './names.js';
import type { RequestContext } from './router.js';
import { writableRepository } from './write-access.js';

/** Read a request body whole, refusing more than `limit` bytes with 413. */
async function readBody(ctx: RequestContext, limit: number): Promise<Buffer> {
  const declared = ctx.req.headers['content-length'];
  const tooLarge = () =>
    new RegistryHttpError(413, 'SIZE_INVALID', `manifest exceeds the limit of ${limit} bytes`);
  if (declared !== undefined && Number(declared) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of ctx.req) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      ctx.req.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** `PUT /v2/NAME/manifests/REF` (a tag, or a digest with optional `?tag=`). */
export async function handleManifestPut(ctx: RequestContext): Promise<void> {
  const { storage, name } = await writableRepository(ctx);
  const reference = ctx.params.reference ?? '';
  const bytes = await readBody(ctx, MAX_MANIFEST_BYTES);
  const write = checkManifestPush(
    reference,
    bytes,
    ctx.req.headers['content-type'],
    ctx.query.getAll('tag'),
  );
  await storage.putManifest(name, write, { signal: ctx.signal });
  const headers: Record<string, string | string[]> = {
    ...COMMON_HEADERS,
    Location: `/v2/${name}/manifests/${write.descriptor.digest}`,
    'Docker-Content-Digest': write.descriptor.digest,
    'Content-Length': '0',
  };
  if (write.subject) headers['OCI-Subject'] = write.subject;
  if (isDigestReference(reference) && write.tags.length > 0)
    headers['OCI-Tag'] = write.tags.join(', ');
  ctx.res.writeHead(201, headers);
  ctx.res.end();
}

/** `DELETE /v2/NAME/manifests/REF`: a manifest by digest (and its tags), or one tag. */
export async function handleManifestDelete(ctx: RequestContext): Promise<void> {
  const { storage, name } = await writableRepository(ctx);
  const reference = ctx.params.reference ?? '';
  let deleted: boolean;
  if (isDigestReference(reference)) {
    parseDigest(reference);
    deleted = await storage.deleteManifest(name, reference, { signal: ctx.signal });
  } else {
    if (!isTag(reference))
      throw new RegistryHttpError(400, 'TAG_INVALID', `invalid tag "${reference}"`);
    deleted = await storage.deleteTag(name, reference, { signal: ctx.signal });
  }
  if (!deleted) {
    throw new RegistryHttpError(404, 'MANIFEST_UNKNOWN', `manifest unknown: ${name}:${reference}`);
  }
  ctx.res.writeHead(202, { ...COMMON_HEADERS, 'Content-Length': '0' });
  ctx.res.end();
}

/** `DELETE /v2/NAME/blobs/DIGEST`. */
export async function handleBlobDelete(ctx: RequestContext): Promise<void> {
  const { storage, name } = await writableRepository(ctx);
  const digest = ctx.params.digest ?? '';
  parseDigest(digest);
  if (!(await storage.deleteBlob(name, digest, { signal: ctx.signal }))) {
    throw new RegistryHttpError(404, 'BLOB_UNKNOWN', `blob unknown to registry: ${digest}`);
  }
  ctx.res.writeHead(202, { ...COMMON_HEADERS, 'Content-Length': '0' });
  ctx.res.end();
}
