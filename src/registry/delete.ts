import { digestOf } from '../digest/index.js';
import { NotFoundError, UnsupportedError } from '../errors/index.js';
import { MediaType } from '../media/index.js';
import { crypto } from '../node/lazy-builtins.js';
import type { Reference } from '../ref/index.js';
import { discardBody, type RegistryTransport } from '../transport/index.js';
import { getManifest } from './manifests.js';
import { manifestPath, manifestReference } from './read-request.js';
import { errorFromResponse } from './response-errors.js';
import { deleteScope } from './scopes.js';
import { putManifest, uploadBlob } from './upload.js';

/** Options of {@link deleteManifest} and {@link deleteTag}. */
export interface DeleteOptions {
  /** Cancels the requests. */
  signal?: AbortSignal;
}

/** The annotation that makes each placeholder manifest of {@link deleteTag} unique. */
const PLACEHOLDER_ANNOTATION = 'io.ocipeek.tag-delete';

/** Statuses a registry answers when it does not delete this way (disabled or unsupported). */
const REFUSED = new Set([400, 405]);

/**
 * `DELETE /v2/NAME/manifests/REFERENCE` as it is: a digest (the manifest and every tag
 * naming it) or, where the registry supports it (OCI distribution 1.1), a tag alone.
 * Resolves once the registry accepted (202). A registry with deletes disabled answers 405
 * `UNSUPPORTED`, reported as an {@link UnsupportedError}.
 */
export async function deleteManifest(
  transport: RegistryTransport,
  ref: Reference,
  options: DeleteOptions = {},
): Promise<void> {
  const path = manifestPath(ref, manifestReference(ref, 'a delete'));
  const res = await transport.send({
    registry: ref.registry,
    repository: ref.repository,
    scope: deleteScope(ref.repository),
    method: 'DELETE',
    path,
    signal: options.signal,
  });
  if (res.status === 202 || res.status === 200) {
    await discardBody(res.body);
    return;
  }
  const err = await errorFromResponse(res, `delete of ${ref}`);
  if (REFUSED.has(res.status)) {
    throw new UnsupportedError(`${ref.registry} refuses to delete ${ref} (${err.message})`);
  }
  throw err;
}

/** What {@link deleteTag} did. */
export interface DeleteTagResult {
  /**
   * `api`: the registry deleted the tag itself; `placeholder`: it cannot, so the tag was
   * moved to a fresh empty manifest, which was then deleted by digest (regctl's way).
   */
  method: 'api' | 'placeholder';
}

/**
 * Remove one tag and nothing else: the manifest it named, and its other tags, stay. A
 * registry that deletes tags (OCI distribution 1.1) is asked to; one that cannot
 * (distribution 2.8 answers 400 `UNSUPPORTED` to a tag) gets what `regctl tag rm` does:
 * the tag is pointed at a new manifest nothing else names (an empty OCI manifest with a
 * unique annotation), which is then deleted by digest, taking the tag with it.
 */
export async function deleteTag(
  transport: RegistryTransport,
  ref: Reference,
  options: DeleteOptions = {},
): Promise<DeleteTagResult> {
  if (!ref.tag || ref.digest) {
    throw new UnsupportedError(`a tag delete needs REPO:TAG without a digest, got ${ref}`);
  }
  try {
    await deleteManifest(transport, ref, options);
    return { method: 'api' };
  } catch (err) {
    // Refused, or not found because the registry looks a tag up as a digest: the way
    // around (a missing tag is then reported by its first GET).
    if (!(err instanceof UnsupportedError) && !(err instanceof NotFoundError)) throw err;
    await deleteThroughPlaceholder(transport, ref, options);
    return { method: 'placeholder' };
  }
}

async function deleteThroughPlaceholder(
  transport: RegistryTransport,
  ref: Reference,
  options: DeleteOptions,
): Promise<void> {
  // Kept to put the tag back if the registry then refuses to delete the placeholder (a
  // registry with deletes disabled), so a refused delete never leaves the tag moved.
  const original = await getManifest(transport, ref, options);
  const empty = Buffer.from('{}');
  const config = { mediaType: MediaType.ociEmpty, digest: digestOf(empty, 'sha256'), size: 2 };
  await uploadBlob(transport, ref, config, empty, options);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config,
      layers: [],
      annotations: { [PLACEHOLDER_ANNOTATION]: crypto().randomUUID() },
    }),
  );
  const digest = await putManifest(transport, ref, manifest, MediaType.ociManifest, options);
  try {
    await deleteManifest(transport, ref.withDigest(digest), options);
  } catch (err) {
    await putManifest(transport, ref, original.bytes, original.mediaType, options);
    throw err;
  }
}
