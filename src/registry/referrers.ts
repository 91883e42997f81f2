import { parseDigest } from '../digest/index.js';
import { NotFoundError } from '../errors/index.js';
import {
  type Descriptor,
  type ImageIndex,
  isIndex,
  MAX_MANIFEST_BYTES,
  MediaType,
  parseManifest,
} from '../media/index.js';
import type { Reference } from '../ref/index.js';
import { headerValue, type RegistryTransport } from '../transport/index.js';
import { readCapped } from '../transport/read-capped.js';
import { nextLink } from './listing.js';
import { getManifest } from './manifests.js';
import { readRequest } from './read-request.js';
import { errorFromResponse, registryNotFound } from './response-errors.js';

/** Options for {@link listReferrers}. */
export interface ReferrersOptions {
  /** Only referrers with this `artifactType`. */
  artifactType?: string;
  signal?: AbortSignal;
}

/** Referrers of a manifest, and how they were found. */
export interface ReferrersResult {
  /** The referrer descriptors. */
  manifests: Descriptor[];
  /** `api` when the registry has the OCI 1.1 referrers API, `tag` for the tag-schema fallback. */
  source: 'api' | 'tag';
}

/** The fallback tag that lists referrers of `digest`: `sha256-<hex>`. */
export function referrersTag(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}-${hex}`;
}

/**
 * The manifests whose `subject` is `ref`'s digest: the OCI 1.1 referrers API where the
 * registry has it, else the `sha256-<hex>` tag fallback from the distribution spec.
 */
export async function listReferrers(
  transport: RegistryTransport,
  ref: Reference & { digest: string },
  options: ReferrersOptions = {},
): Promise<ReferrersResult> {
  const q = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : '';
  let path: string | undefined = `/v2/${ref.repository}/referrers/${ref.digest}${q}`;
  const manifests: Descriptor[] = [];
  let filtered = false;
  while (path) {
    const res = await transport.send(
      readRequest(ref, 'GET', path, { accept: MediaType.ociIndex }, options.signal),
    );
    const type = headerValue(res.headers, 'content-type')?.split(';')[0]?.trim();
    if (res.status === 404 && manifests.length === 0 && type !== MediaType.ociIndex) {
      // No referrers API, when the 404 is the registry's (not a proxy's or web server's).
      await registryNotFound(res, `referrers of ${ref}`, {
        transport,
        registry: ref.registry,
        signal: options.signal,
      });
      return fromTag(transport, ref, options);
    }
    if (res.status !== 200) throw await errorFromResponse(res, `referrers of ${ref}`);
    const body = await readCapped(res.body, MAX_MANIFEST_BYTES, 'referrers index');
    const index = parseManifest(body, type);
    if (!isIndex(index)) return fromTag(transport, ref, options);
    manifests.push(...index.manifests);
    filtered ||= Boolean(headerValue(res.headers, 'oci-filters-applied')?.includes('artifactType'));
    path = nextLink(headerValue(res.headers, 'link'));
  }
  return {
    manifests: filterByType(manifests, filtered ? undefined : options.artifactType),
    source: 'api',
  };
}

async function fromTag(
  transport: RegistryTransport,
  ref: Reference & { digest: string },
  options: ReferrersOptions,
): Promise<ReferrersResult> {
  try {
    const fetched = await getManifest(transport, ref.withTag(referrersTag(ref.digest)), {
      accept: MediaType.ociIndex,
      signal: options.signal,
    });
    const index = fetched.manifest as ImageIndex;
    if (!isIndex(index)) return { manifests: [], source: 'tag' };
    return { manifests: filterByType(index.manifests, options.artifactType), source: 'tag' };
  } catch (err) {
    if (err instanceof NotFoundError) return { manifests: [], source: 'tag' };
    throw err;
  }
}

function filterByType(manifests: Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType ? manifests.filter((d) => d.artifactType === artifactType) : manifests;
}
