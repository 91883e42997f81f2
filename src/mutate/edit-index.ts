import { digestOf } from '../digest/index.js';
import { InvalidArgumentError, InvalidManifestError } from '../errors/index.js';
import {
  type Descriptor,
  type ImageIndex,
  isIndex,
  isIndexMediaType,
  type Platform,
  parseManifest,
} from '../media/index.js';
import { isAttestationEntry } from '../platform/index.js';
import { commitRoot, writeOrAbort } from '../source/destination-writes.js';
import {
  type ImageDestination,
  type ImageSource,
  type ManifestBytes,
  openImage,
  sourceName,
} from '../source/index.js';
import { type EditOptions, type ImageEdit, withWorkDir } from './edit-image.js';
import { putImage } from './write-image.js';

/** What {@link editEachPlatform} wrote. */
export interface WrittenIndex {
  /** The new index's digest as the destination holds it. */
  digest: string;
  manifest: ManifestBytes;
  /** One per platform, in index order: the image edited (`from`) and its edit. */
  images: Array<{ platform?: Platform; from: string; digest: string }>;
  /**
   * Entries left out: attestations (they describe the images as they were, by digest,
   * so they would be false about the edited ones).
   */
  dropped: Descriptor[];
}

/**
 * `crane mutate`/`append`/`flatten` of an index: `edit` applied to the image of every
 * platform `source`'s index lists, and a new index of the edited images (their index
 * entries' platform and annotations kept, the index's annotations kept) written to
 * `destination` and committed. Aborts the destination on failure.
 */
export async function editEachPlatform(
  source: ImageSource,
  destination: ImageDestination,
  edit: ImageEdit,
  options: EditOptions = {},
): Promise<WrittenIndex> {
  const { signal } = options;
  const top = await source.root({ signal });
  const index = parseManifest(top.bytes, top.mediaType);
  if (!isIndex(index)) {
    throw new InvalidArgumentError(`${sourceName(source)} is one image, not an index`);
  }
  return withWorkDir(options, async (dir) => {
    return writeOrAbort(destination, async () => {
      const manifests: Descriptor[] = [];
      const images: WrittenIndex['images'] = [];
      const dropped: Descriptor[] = [];
      for (const entry of index.manifests) {
        if (isAttestationEntry(entry)) {
          dropped.push(entry);
          continue;
        }
        if (isIndexMediaType(entry.mediaType)) {
          throw new InvalidManifestError(
            `index ${top.digest} points at another index ${entry.digest}`,
          );
        }
        // The image shares `source`, which the caller closes: the image is not closed here.
        const image = await openImage(source, { entry, signal });
        const put = await putImage(destination, await edit(image, dir), { root: false, signal });
        const written: Descriptor = {
          mediaType: put.manifest.mediaType,
          digest: put.digest,
          size: put.manifest.bytes.length,
        };
        if (entry.platform) written.platform = entry.platform;
        if (entry.annotations) written.annotations = entry.annotations;
        manifests.push(written);
        images.push({ platform: entry.platform, from: entry.digest, digest: put.digest });
      }
      const json: ImageIndex = { schemaVersion: 2, mediaType: top.mediaType, manifests };
      if (index.annotations) json.annotations = index.annotations;
      const bytes = Buffer.from(JSON.stringify(json));
      const manifest: ManifestBytes = {
        bytes,
        mediaType: top.mediaType,
        digest: digestOf(bytes, 'sha256'),
      };
      const digest = await commitRoot(destination, manifest, signal);
      return { digest, manifest, images, dropped };
    });
  });
}
