import { join } from 'node:path';
import { publishReferrer } from '../artifact/referrers-tag.js';
import { type CopyImageOptions, type CopyResult, copyImage } from '../copy/index.js';
import { parseDigestTag } from '../digest/index.js';
import { InvalidArgumentError } from '../errors/index.js';
import { openDestination, openSource } from '../places/index.js';
import { parseReference, type Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';

/** Options of {@link syncImages}. */
export interface SyncOptions
  extends Pick<CopyImageOptions, 'allPlatforms' | 'platform' | 'concurrency'> {
  client: RegistryClient;
  /** Also copy the manifests that refer to each image (OCI 1.1 referrers). */
  includeReferrers?: boolean;
  /** Called after each image is copied. */
  onImage?: (image: SyncedImage) => void;
  signal?: AbortSignal;
}

/** One image {@link syncImages} copied. */
export interface SyncedImage {
  source: string;
  destination: string;
  digest: string;
  /** Referrers copied with it. */
  referrers: number;
  result: CopyResult;
}

/**
 * The images a sync source names: `REPO` is every tag of the repository (as skopeo sync
 * takes a repository), `REPO:TAG` or `REPO@DIGEST` that one image.
 */
export async function expandSyncSource(
  client: RegistryClient,
  source: string,
  options: { signal?: AbortSignal } = {},
): Promise<Reference[]> {
  const repo = parseReference(source, { defaultTag: null });
  if (repo.tag || repo.digest) return [repo];
  const tags = await client.listTags(repo, options);
  return tags.map((tag) => repo.withTag(tag));
}

/**
 * Where `ref` goes under the registry prefix `destination` (`HOST[/PATH]`): the last
 * component of its repository under that prefix, with the same tag or digest, as
 * `skopeo sync --dest docker` names copies.
 */
export function syncTarget(ref: Reference, destination: string): Reference {
  if (/[:@]/.test(destination.split('/').slice(1).join('/'))) {
    throw new InvalidArgumentError(
      `sync destination ${destination} is a registry prefix: HOST[/PATH], without a tag`,
    );
  }
  const name = ref.repository.split('/').pop()!;
  const at = ref.digest ? `@${ref.digest}` : `:${ref.tag}`;
  return parseReference(`${destination.replace(/\/+$/, '')}/${name}${at}`);
}

/**
 * Copy every image `sources` name (repositories: all their tags) to the registry prefix
 * `destination`, or with `oci:DIR` into one layout per repository, `DIR/NAME` (skopeo
 * sync, regctl image copy --include-referrers): one `copyImage` per
 * image, digests preserved (with `allPlatforms`), then, with `includeReferrers`, every
 * manifest that refers to it, copied by digest into the same repository and listed
 * there (through the destination's referrers API, or its `sha256-<hex>` tag index).
 */
export async function syncImages(
  sources: string[],
  destination: string,
  options: SyncOptions,
): Promise<SyncedImage[]> {
  const { client, signal } = options;
  const done: SyncedImage[] = [];
  const layoutRoot = destination.startsWith('oci:') ? destination.slice(4) : undefined;
  if (layoutRoot === '') throw new InvalidArgumentError('sync to oci: needs a folder: oci:DIR');
  for (const source of sources) {
    for (const ref of await expandSyncSource(client, source, { signal })) {
      // To layouts: one per repository, `DIR/NAME`, each image under its tag (a digest
      // unnamed), so `oci:DIR/NAME:TAG` reads it and `serve --root DIR` serves NAME.
      const layout = layoutRoot && join(layoutRoot, ref.repository.split('/').pop()!);
      const target = layout ? undefined : syncTarget(ref, destination);
      const place = layout
        ? `oci:${layout}${ref.digest ? '' : `:${ref.tag}`}`
        : `docker://${target}`;
      // A referrers tag index (the spec's fallback) lists artifacts, not platforms: whole.
      const named = parseDigestTag(ref.tag ?? '');
      const fallbackIndex = named !== undefined && named.suffix === undefined;
      const result = await copyOne(options, ref, place, fallbackIndex);
      let referrers = 0;
      if (options.includeReferrers && !fallbackIndex) {
        const listed = await client.listReferrers(ref.withDigest(result.sourceDigest), { signal });
        for (const referrer of listed.manifests) {
          const from = parseReference(`${ref.name}@${referrer.digest}`);
          if (!target) {
            // A layout lists referrers by their subject field: stored unnamed is enough.
            await copyOne(options, from, `oci:${layout}`, true);
            referrers++;
            continue;
          }
          await copyOne(options, from, `docker://${target.name}@${referrer.digest}`, true);
          // A destination without the referrers API lists it only through its tag index.
          await publishReferrer(client, target, result.digest, referrer, { signal });
          referrers++;
        }
      }
      const synced: SyncedImage = {
        source: ref.toString(),
        destination: target ? target.toString() : place,
        digest: result.digest,
        referrers,
        result,
      };
      options.onImage?.(synced);
      done.push(synced);
    }
  }
  return done;
}

async function copyOne(
  options: SyncOptions,
  from: Reference,
  to: string,
  whole = false,
): Promise<CopyResult> {
  const { client, signal } = options;
  const source = await openSource(`docker://${from}`, { client, signal });
  try {
    const destination = await openDestination(to, { client, signal });
    return await copyImage(source, destination, {
      allPlatforms: whole || options.allPlatforms,
      platform: options.platform,
      concurrency: options.concurrency,
      signal,
    });
  } finally {
    await source.close();
  }
}
