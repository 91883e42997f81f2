import type { Readable } from 'node:stream';
import { parseDigest } from '../../digest/index.js';
import { MediaType } from '../../media/index.js';
import { sendBlobBody } from '../blob-response.js';
import { COMMON_HEADERS, RegistryHttpError, sendJson } from './http-errors.js';
import { isDigestReference, isRepositoryName, isTag } from './names.js';
import { paginate } from './pagination.js';
import { type ByteRange, parseRange } from './range.js';
import type { RequestContext } from './router.js';

/** The repository a request names, checked for shape and existence. */
async function repository(ctx: RequestContext): Promise<string> {
  const name = ctx.params.name ?? '';
  if (!isRepositoryName(name)) {
    throw new RegistryHttpError(400, 'NAME_INVALID', `invalid repository name "${name}"`);
  }
  if (!(await ctx.backend.hasRepository(name, { signal: ctx.signal }))) {
    throw new RegistryHttpError(
      404,
      'NAME_UNKNOWN',
      `repository name not known to registry: ${name}`,
    );
  }
  return name;
}

/** A digest from the path, validated (throws `InvalidDigestError` → 400 DIGEST_INVALID). */
function digestParam(ctx: RequestContext): string {
  const digest = ctx.params.digest ?? '';
  parseDigest(digest);
  return digest;
}

/** `GET /v2/`: the API version check every client starts with. */
export async function handleBase(ctx: RequestContext): Promise<void> {
  sendJson(ctx.res, 200, {});
}

/** `GET /v2/_catalog?n=&last=`. */
export async function handleCatalog(ctx: RequestContext): Promise<void> {
  const all = (await ctx.backend.repositories({ signal: ctx.signal })).filter((r) =>
    ctx.canPull(r),
  );
  const page = paginate(all, ctx.query, '/v2/_catalog');
  sendJson(ctx.res, 200, { repositories: page.items }, page.link ? { Link: page.link } : {});
}

/** `GET /v2/<name>/tags/list?n=&last=`. */
export async function handleTags(ctx: RequestContext): Promise<void> {
  const name = await repository(ctx);
  const tags = await ctx.backend.tags(name, { signal: ctx.signal });
  const page = paginate(tags, ctx.query, `/v2/${name}/tags/list`);
  sendJson(ctx.res, 200, { name, tags: page.items }, page.link ? { Link: page.link } : {});
}

/**
 * `GET|HEAD /v2/<name>/manifests/<tag|digest>`.
 *
 * `Accept` is not used to refuse: a layout holds exactly one encoding of each manifest
 * and there is nothing to convert to, so the manifest is served as stored with its own
 * media type. Refusing (as distribution 2.8 does for OCI types missing from Accept) only
 * breaks clients that send a narrow Accept yet understand the content, and a client
 * that truly cannot use the type learns it from `Content-Type` anyway.
 */
export async function handleManifest(ctx: RequestContext): Promise<void> {
  const name = await repository(ctx);
  const reference = ctx.params.reference ?? '';
  if (isDigestReference(reference)) parseDigest(reference);
  else if (!isTag(reference)) {
    throw new RegistryHttpError(400, 'TAG_INVALID', `invalid tag "${reference}"`);
  }
  const found = await ctx.backend.getManifest(name, reference, { signal: ctx.signal });
  if (!found) {
    throw new RegistryHttpError(404, 'MANIFEST_UNKNOWN', `manifest unknown: ${name}:${reference}`);
  }
  const { descriptor, bytes } = found;
  ctx.res.writeHead(200, {
    ...COMMON_HEADERS,
    'Content-Type': descriptor.mediaType,
    'Content-Length': String(bytes.length),
    'Docker-Content-Digest': descriptor.digest,
    ETag: `"${descriptor.digest}"`,
  });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : bytes);
}

/** `GET|HEAD /v2/<name>/blobs/<digest>`, with single `Range: bytes=` ranges. */
export async function handleBlob(ctx: RequestContext): Promise<void> {
  const name = await repository(ctx);
  const digest = digestParam(ctx);
  // Opened once: the size announced and the bytes sent come from the same file.
  const blob = await ctx.backend.openBlob(name, digest, { signal: ctx.signal });
  if (!blob) {
    throw new RegistryHttpError(404, 'BLOB_UNKNOWN', `blob unknown to registry: ${digest}`);
  }
  // Access was checked above: the client fetches the bytes from the storage itself.
  const location =
    ctx.req.method === 'GET' ? await blob.redirect?.({ signal: ctx.signal }) : undefined;
  if (location) {
    await blob.close();
    ctx.res.writeHead(307, {
      ...COMMON_HEADERS,
      Location: location,
      'Docker-Content-Digest': digest,
      'Content-Length': '0',
    });
    ctx.res.end();
    return;
  }
  let body: Readable;
  let range: ByteRange | undefined;
  try {
    const size = blob.size;
    const asked = parseRange(ctx.req.headers.range, size);
    if (asked === 'unsatisfiable') {
      throw new RegistryHttpError(
        416,
        'RANGE_INVALID',
        `range ${ctx.req.headers.range} not satisfiable for a blob of ${size} bytes`,
        { 'Content-Range': `bytes */${size}` },
      );
    }
    range = asked;
    const headers: Record<string, string> = {
      ...COMMON_HEADERS,
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': digest,
      'Accept-Ranges': 'bytes',
      ETag: `"${digest}"`,
      // Content-addressed: the bytes behind a digest never change.
      'Cache-Control': 'max-age=31536000',
    };
    if (range) {
      headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
      headers['Content-Length'] = String(range.end - range.start + 1);
    } else {
      headers['Content-Length'] = String(size);
    }
    if (ctx.req.method === 'HEAD') {
      ctx.res.writeHead(range ? 206 : 200, headers);
      ctx.res.end();
      return;
    }
    // A range is checked before the answer starts: a corrupt blob gets an error status.
    body = await blob.read({ range, signal: ctx.signal });
    ctx.res.writeHead(range ? 206 : 200, headers);
  } finally {
    await blob.close();
  }
  // A corrupt blob fails the verifying stream before its end; the last piece is held back
  // until then and the connection cut, so no client mistakes the answer for good content.
  await sendBlobBody(body, range ? range.end - range.start + 1 : blob.size, ctx.res);
}

/** `GET /v2/<name>/referrers/<digest>?artifactType=` (OCI distribution 1.1). */
export async function handleReferrers(ctx: RequestContext): Promise<void> {
  // Not NAME_UNKNOWN for a repository with nothing yet: its referrers list is just empty.
  const name = ctx.params.name ?? '';
  if (!isRepositoryName(name)) {
    throw new RegistryHttpError(400, 'NAME_INVALID', `invalid repository name "${name}"`);
  }
  const digest = digestParam(ctx);
  let manifests = await ctx.backend.referrers(name, digest, { signal: ctx.signal });
  const headers: Record<string, string> = {};
  const artifactType = ctx.query.get('artifactType');
  if (artifactType) {
    manifests = manifests.filter((d) => d.artifactType === artifactType);
    headers['OCI-Filters-Applied'] = 'artifactType';
  }
  // The spec: never 404 for a valid digest; an unknown subject simply has no referrers.
  sendJson(
    ctx.res,
    200,
    { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests },
    headers,
    MediaType.ociIndex,
  );
}
