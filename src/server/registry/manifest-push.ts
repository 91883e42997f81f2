import { digestOf, isDigest, parseDigest } from '../../digest/index.js';
import { isOcipeekError } from '../../errors/index.js';
import {
  type Descriptor,
  isImageManifestMediaType,
  isIndex,
  isIndexMediaType,
  type Manifest,
  MediaType,
  manifestMediaType,
  parseManifest,
} from '../../media/index.js';
import { referrerDescriptor } from '../../media/referrer-descriptor.js';
import type { ManifestWrite } from '../storage/registry-storage.js';
import { RegistryHttpError } from './http-errors.js';
import { isDigestReference, isTag } from './names.js';

/** Layer types whose bytes live elsewhere (`urls`): a registry does not hold them. */
const FOREIGN_LAYERS = new Set<string>([
  MediaType.dockerLayerForeignGzip,
  MediaType.ociLayerNondistributable,
  MediaType.ociLayerNondistributableGzip,
  MediaType.ociLayerNondistributableZstd,
]);

function invalid(message: string): RegistryHttpError {
  return new RegistryHttpError(400, 'MANIFEST_INVALID', message);
}

/** The media type of a `Content-Type` header, parameters dropped. */
function bareType(header: string | undefined): string | undefined {
  const type = header?.split(';', 1)[0]?.trim().toLowerCase();
  return type ? type : undefined;
}

/**
 * Check a pushed manifest and say what storing it means: `PUT /v2/NAME/manifests/REF`
 * with `bytes`, the request's `Content-Type` and the `?tag=` parameters.
 *
 * - The digest is of the exact bytes (sha256, or the algorithm of a digest reference,
 *   which must match: `DIGEST_INVALID`).
 * - It must parse as an image manifest or index (OCI or Docker schema 2); a `mediaType`
 *   in the body must agree with `Content-Type` (`MANIFEST_INVALID`); schema 1 is refused.
 * - Config, layers (but foreign layers) and child manifests must be in the repository:
 *   they are returned as `requires`, which the storage checks as it stores.
 * - `subject` is recorded (not required to exist, as the spec allows).
 */
export function checkManifestPush(
  reference: string,
  bytes: Buffer,
  contentType: string | undefined,
  tagParams: string[],
): ManifestWrite {
  const byDigest = isDigestReference(reference);
  const algorithm = byDigest ? parseDigest(reference).algorithm : 'sha256';
  const digest = digestOf(bytes, algorithm);
  if (byDigest && digest !== reference) {
    throw new RegistryHttpError(
      400,
      'DIGEST_INVALID',
      `manifest digest ${digest} does not match ${reference}`,
    );
  }
  if (!byDigest && !isTag(reference)) {
    throw new RegistryHttpError(400, 'TAG_INVALID', `invalid tag "${reference}"`);
  }
  const announced = bareType(contentType);
  let manifest: Manifest;
  try {
    manifest = parseManifest(bytes, announced);
  } catch (err) {
    throw invalid(isOcipeekError(err) || err instanceof Error ? err.message : String(err));
  }
  const mediaType = manifestMediaType(manifest, announced);
  if (manifest.mediaType && announced && announced !== 'application/json') {
    if (manifest.mediaType !== announced) {
      throw invalid(
        `Content-Type ${announced} does not match the manifest's mediaType ${manifest.mediaType}`,
      );
    }
  }
  if (isIndex(manifest) ? !isIndexMediaType(mediaType) : !isImageManifestMediaType(mediaType)) {
    throw invalid(`${mediaType} is not a manifest media type this registry stores`);
  }
  const requires: Descriptor[] = [];
  if (isIndex(manifest)) {
    requires.push(...manifest.manifests);
  } else {
    requires.push(manifest.config);
    for (const layer of manifest.layers) {
      if (!(FOREIGN_LAYERS.has(layer.mediaType) && layer.urls?.length)) requires.push(layer);
    }
  }
  for (const d of requires) {
    if (!isDigest(d.digest)) throw invalid(`invalid digest ${d.digest} in the manifest`);
  }
  const tags = byDigest ? tagParams : [reference];
  for (const tag of tags) {
    if (!isTag(tag)) throw new RegistryHttpError(400, 'TAG_INVALID', `invalid tag "${tag}"`);
  }
  const subject = manifest.subject?.digest;
  return {
    bytes,
    descriptor: referrerDescriptor(manifest, digest, bytes.length, mediaType),
    tags: [...new Set(tags)],
    requires: requires.map((d) => ({ digest: d.digest, size: d.size })),
    subject: subject && isDigest(subject) ? subject : undefined,
  };
}
