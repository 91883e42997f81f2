import { InvalidArgumentError } from '../errors/index.js';
import type { Reference } from '../ref/index.js';
import type { RegistryRequest } from '../transport/index.js';
import { pullScope } from './scopes.js';

/** The API path of a blob in `ref`'s repository. */
export function blobPath(ref: Pick<Reference, 'repository'>, digest: string): string {
  return `/v2/${ref.repository}/blobs/${digest}`;
}

/** The API path of a manifest (by tag or digest) in `ref`'s repository. */
export function manifestPath(ref: Pick<Reference, 'repository'>, reference: string): string {
  return `/v2/${ref.repository}/manifests/${reference}`;
}

/**
 * The tag or digest a request about `ref`'s manifest names: the digest when there is one,
 * else the tag. A {@link Reference} may hold neither (a bare repository, as
 * `parseRepository` gives): that is an {@link InvalidArgumentError} naming `what`, never
 * a request for `manifests/undefined` nor a guessed `latest` (a write or a delete must
 * name exactly what it changes).
 */
export function manifestReference(ref: Reference, what: string): string {
  const reference = ref.digest ?? ref.tag;
  if (reference === undefined) {
    throw new InvalidArgumentError(`${what} needs a tag or a digest, got the repository ${ref}`);
  }
  return reference;
}

/**
 * A read (GET or HEAD) in `ref`'s repository, as every reader of blobs, manifests and
 * referrers sends it: a pull-scoped token, and the repository for the credential lookup.
 * What the caller accepts (`Accept` for a manifest, `Range` for part of a blob) is its
 * own; authentication, retries and redirects are the transport's, the same for all.
 */
export function readRequest(
  ref: Pick<Reference, 'registry' | 'repository'>,
  method: 'GET' | 'HEAD',
  path: string,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
): RegistryRequest {
  return {
    registry: ref.registry,
    repository: ref.repository,
    scope: pullScope(ref.repository),
    method,
    path,
    headers,
    signal,
  };
}
