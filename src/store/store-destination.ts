import type { Readable } from 'node:stream';
import { IMAGE_NAME_ANNOTATION, REF_NAME_ANNOTATION } from '../layout/index.js';
import type { Descriptor } from '../media/index.js';
import { Reference } from '../ref/index.js';
import type {
  ImageDestination,
  ManifestBytes,
  PutBlobOptions,
  PutManifestOptions,
  SourceCallOptions,
} from '../source/index.js';
import type { StorePin } from './pins.js';
import type { Store } from './store.js';
import { removeIdleWorkArea } from './work-area.js';

/**
 * How the copied root is named in `index.json`: the store names images by full reference
 * (`Store.tag`); a plain `oci:DIR[:TAG]` layout by bare tag, as skopeo and umoci do.
 */
export type LayoutNaming =
  | { kind: 'reference'; ref: Reference }
  /**
   * Named `REPOSITORY@<root digest>`, as a pull by digest names an image: for an image
   * whose digest is known only once written and that is found some other way (an
   * artifact, found through its `subject`).
   */
  | { kind: 'digest'; repository: Reference }
  | {
      kind: 'tag';
      /** `org.opencontainers.image.ref.name`; none leaves the entry unnamed. */
      tag?: string;
      /** Full image name kept in `io.containerd.image.name` (archives), if known. */
      imageName?: string;
    };

/** Options of {@link StoreDestination}. */
export interface StoreDestinationOptions {
  /**
   * The layout is someone else's (`oci:DIR`), not a store: the `.ocipeek/` work area the
   * copy needed (temp files, locks, pins) is removed when it commits or aborts, unless
   * another writer is using it then. Default false.
   */
  removeWorkArea?: boolean;
}

/**
 * An OCI image layout written through ocipeek's {@link Store}: blobs verified into temp
 * files and renamed into place, `index.json` changed under the store's lock. Serves both
 * `store:REF` and `oci:DIR[:TAG]` (and the staging folder of an `oci-archive:`), so there
 * is one layout writer in ocipeek.
 */
export class StoreDestination implements ImageDestination {
  /** What this copy has looked at or written, kept from a concurrent `prune` until commit. */
  private pin: Promise<StorePin> | undefined;

  constructor(
    readonly store: Store,
    private readonly naming: LayoutNaming,
    readonly description: string,
    private readonly options: StoreDestinationOptions = {},
  ) {}

  private async keep(digest: string, signal?: AbortSignal): Promise<void> {
    this.pin ??= this.store.pin([], { signal });
    await (await this.pin).add([digest], { signal });
  }

  private async unpin(): Promise<void> {
    const pin = this.pin;
    this.pin = undefined;
    await (await pin?.catch(() => undefined))?.release();
    if (this.options.removeWorkArea) await removeIdleWorkArea(this.store.dir);
  }

  async hasBlob(desc: Descriptor, options: SourceCallOptions = {}): Promise<boolean> {
    // Pinned before looking: a blob found here stays until the tag names it.
    await this.keep(desc.digest, options.signal);
    return (await this.store.hasBlob(desc.digest)) === desc.size;
  }

  async putBlob(desc: Descriptor, stream: Readable, options: PutBlobOptions): Promise<void> {
    await this.keep(desc.digest, options.signal);
    await this.store.writeBlob(desc, stream, {
      // ImageSource streams verify themselves; the store hashes resumed prefixes anyway.
      sourceVerified: true,
      onProgress: options.onProgress,
      signal: options.signal,
    });
  }

  async putManifest(manifest: ManifestBytes, options: PutManifestOptions): Promise<void> {
    await this.keep(manifest.digest, options.signal);
    await this.store.putManifest(
      manifest.bytes,
      { mediaType: manifest.mediaType, digest: manifest.digest },
      { signal: options.signal },
    );
  }

  async commit(root: ManifestBytes, options: SourceCallOptions = {}): Promise<string> {
    try {
      return await this.name(root, options);
    } finally {
      await this.unpin();
    }
  }

  private async name(root: ManifestBytes, options: SourceCallOptions): Promise<string> {
    const desc: Descriptor = {
      mediaType: root.mediaType,
      digest: root.digest,
      size: root.bytes.length,
    };
    const naming = this.naming;
    if (naming.kind === 'reference' || naming.kind === 'digest') {
      const ref =
        naming.kind === 'reference'
          ? naming.ref
          : new Reference(
              naming.repository.registry,
              naming.repository.repository,
              undefined,
              root.digest,
            );
      await this.store.tag(ref, desc, { signal: options.signal });
      return root.digest;
    }
    const annotations: Record<string, string> = {};
    if (naming.imageName) annotations[IMAGE_NAME_ANNOTATION] = naming.imageName;
    if (naming.tag) annotations[REF_NAME_ANNOTATION] = naming.tag;
    const entry: Descriptor = Object.keys(annotations).length > 0 ? { ...desc, annotations } : desc;
    await this.store.updateIndex(async (index) => {
      const kept = index.manifests.filter((d) =>
        naming.tag
          ? d.annotations?.[REF_NAME_ANNOTATION] !== naming.tag
          : d.digest !== root.digest || d.annotations?.[REF_NAME_ANNOTATION] !== undefined,
      );
      index.manifests = [...kept, entry];
      return true;
    }, options);
    return root.digest;
  }

  async abort(): Promise<void> {
    // Blobs already written are content-addressed and unnamed: `prune` reclaims them.
    await this.unpin();
  }
}
