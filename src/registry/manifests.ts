import { digestOf, parseDigest } from '../digest/index.js';
import { DigestMismatchError, InvalidManifestError, TooLargeError } from '../errors/index.js';
import {
  type Descriptor,
  MANIFEST_ACCEPT,
  MAX_MANIFEST_BYTES,
  type Manifest,
  manifestMediaType,
  parseManifest,
} from '../media/index.js';
import { type Reference, referenceInMessage } from '../ref/index.js';
import {
  discardBody,
  headerValue,
  type RegistryRequest,
  type RegistryResponse,
  type RegistryTransport,
} from '../transport/index.js';
import { readCapped } from '../transport/read-capped.js';
import { manifestPath, readRequest } from './read-request.js';
import { errorFromResponse } from './response-errors.js';

/** A manifest as served: exact bytes, their digest, and the parsed form. */
export interface FetchedManifest {
  /** The bytes exactly as the registry sent them (their digest is `digest`). */
  bytes: Buffer;
  /** The manifest's media type. */
  mediaType: string;
  /** `sha256:` digest of `bytes` (or of the algorithm the reference's digest uses). */
  digest: string;
  /** The parsed manifest or index. */
  manifest: Manifest;
}

/** Options for manifest requests. */
export interface ManifestRequestOptions {
  /** `Accept` header; all four OCI and Docker types by default. */
  accept?: string;
  signal?: AbortSignal;
}

/** A manifest's GET or HEAD: the same `Accept` for both, so both answer the same type. */
function manifestRequest(
  ref: Reference,
  method: 'GET' | 'HEAD',
  options: ManifestRequestOptions,
): RegistryRequest {
  const accept = options.accept ?? MANIFEST_ACCEPT;
  return readRequest(ref, method, manifestPath(ref, ref.reference), { accept }, options.signal);
}

function describeRef(ref: Reference): string {
  return referenceInMessage(ref);
}

/**
 * GET a manifest by tag or digest. The body is capped at 4 MiB; when fetched by digest
 * its bytes must hash to that digest, and a `Docker-Content-Digest` header must agree.
 */
export async function getManifest(
  transport: RegistryTransport,
  ref: Reference,
  options: ManifestRequestOptions = {},
): Promise<FetchedManifest> {
  const res = await transport.send(manifestRequest(ref, 'GET', options));
  if (res.status !== 200)
    throw await errorFromResponse(res, `manifest ${describeRef(ref)}`, {
      transport,
      registry: ref.registry,
      signal: options.signal,
    });
  checkDeclaredLength(res, describeRef(ref));
  const bytes = await readCapped(res.body, MAX_MANIFEST_BYTES, `manifest ${describeRef(ref)}`);
  const digest = verifyManifestDigest(
    bytes,
    ref,
    headerValue(res.headers, 'docker-content-digest'),
  );
  const contentType = headerValue(res.headers, 'content-type')?.split(';')[0]?.trim();
  const manifest = parseManifest(bytes, contentType);
  return { bytes, digest, manifest, mediaType: manifestMediaType(manifest, contentType) };
}

/** HEAD a manifest: its descriptor without the body (no rate-limited GET on Docker Hub). */
export async function headManifest(
  transport: RegistryTransport,
  ref: Reference,
  options: ManifestRequestOptions = {},
): Promise<Descriptor> {
  const res = await transport.send(manifestRequest(ref, 'HEAD', options));
  await discardBody(res.body);
  if (res.status !== 200)
    throw await errorFromResponse(res, `manifest ${describeRef(ref)}`, {
      transport,
      registry: ref.registry,
      signal: options.signal,
    });
  const digest = headerValue(res.headers, 'docker-content-digest') ?? ref.digest;
  if (!digest) {
    throw new InvalidManifestError(
      `registry sent no Docker-Content-Digest for ${describeRef(ref)}`,
    );
  }
  parseDigest(digest);
  if (ref.digest && digest !== ref.digest) {
    throw new DigestMismatchError(ref.digest, digest, 'manifest');
  }
  const size = Number(headerValue(res.headers, 'content-length') ?? -1);
  const mediaType = headerValue(res.headers, 'content-type')?.split(';')[0]?.trim() ?? '';
  return { mediaType, digest, size };
}

function checkDeclaredLength(res: RegistryResponse, what: string): void {
  const length = Number(headerValue(res.headers, 'content-length') ?? 0);
  if (length > MAX_MANIFEST_BYTES) {
    res.body.destroy();
    throw new TooLargeError(`manifest ${what}`, MAX_MANIFEST_BYTES);
  }
}

/**
 * The digest of manifest bytes, checked against what we asked for (a digest reference)
 * and what the registry claims (`Docker-Content-Digest`), in the algorithm each uses.
 */
function verifyManifestDigest(bytes: Buffer, ref: Reference, header: string | undefined): string {
  const algorithm = ref.digest ? parseDigest(ref.digest).algorithm : 'sha256';
  const actual = digestOf(bytes, algorithm);
  if (ref.digest && actual !== ref.digest) {
    throw new DigestMismatchError(ref.digest, actual, 'manifest');
  }
  if (header) {
    const claimed = parseDigest(header).algorithm;
    const computed = claimed === algorithm ? actual : digestOf(bytes, claimed);
    if (computed !== header) throw new DigestMismatchError(header, computed, 'manifest');
  }
  return actual;
}
