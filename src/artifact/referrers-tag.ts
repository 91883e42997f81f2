import { NotFoundError } from '../errors/index.js';
import { type Descriptor, type ImageIndex, isIndex, MediaType } from '../media/index.js';
import type { Reference } from '../ref/index.js';
import { type RegistryClient, referrersTag } from '../registry/index.js';

/**
 * Add `referrer` to the referrers of `subject` for a registry without the referrers API,
 * as the distribution spec's fallback says: the index tagged `<alg>-<hex>` of the subject
 * digest lists every referrer; it is read (or started), the descriptor added unless it is
 * there, and pushed back under that tag. Resolves to whether the index changed.
 */
export async function addToReferrersTag(
  client: RegistryClient,
  repository: Reference,
  subject: string,
  referrer: Descriptor,
  options: { signal?: AbortSignal } = {},
): Promise<boolean> {
  const tagRef = repository.withTag(referrersTag(subject));
  let index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  try {
    const fetched = await client.getManifest(tagRef, { accept: MediaType.ociIndex, ...options });
    if (isIndex(fetched.manifest)) index = fetched.manifest;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  if (index.manifests.some((d) => d.digest === referrer.digest)) return false;
  const updated: ImageIndex = { ...index, manifests: [...index.manifests, referrer] };
  const bytes = Buffer.from(JSON.stringify(updated));
  await client.putManifest(tagRef, bytes, MediaType.ociIndex, options);
  return true;
}

/**
 * Make `referrer` (a manifest just pushed to `repository` with `subject` as its subject)
 * findable by its subject's referrers: nothing to do where the registry has the referrers
 * API (it indexes subjects as manifests are pushed); else the fallback tag is updated
 * ({@link addToReferrersTag}). Resolves to the way the registry lists referrers.
 */
export async function publishReferrer(
  client: RegistryClient,
  repository: Reference,
  subject: string,
  referrer: Descriptor,
  options: { signal?: AbortSignal } = {},
): Promise<'api' | 'tag'> {
  const listed = await client.listReferrers(repository.withDigest(subject), options);
  if (listed.source === 'api') return 'api';
  await addToReferrersTag(client, repository, subject, referrer, options);
  return 'tag';
}
