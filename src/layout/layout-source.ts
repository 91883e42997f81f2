import type { Readable } from 'node:stream';
import { parseDigestTag } from '../digest/index.js';
import { InvalidArgumentError, NotFoundError } from '../errors/index.js';
import {
  type Descriptor,
  isImageManifestMediaType,
  isIndexMediaType,
  MAX_MANIFEST_BYTES,
} from '../media/index.js';
import type {
  ImageSource,
  ManifestBytes,
  OpenSourceBlobOptions,
  PlaceKind,
  SourceCallOptions,
} from '../source/index.js';
import type { OciLayout } from './oci-layout.js';
import { REF_NAME_ANNOTATION } from './ref-name.js';

/** Annotation containerd and Docker put on `index.json` entries: the full image name. */
export const IMAGE_NAME_ANNOTATION = 'io.containerd.image.name';

/** A ref name that is a whole image reference (`host/app:1`), not a bare tag (`1`). */
function fullName(name: string | undefined): string | undefined {
  return name?.includes('/') ? name : undefined;
}

/** Options of {@link LayoutSource}. */
export interface LayoutSourceOptions {
  /** The kind of place the layout is (default `oci`; also archives and the store). */
  kind?: PlaceKind;
  /** How the place is shown in messages. */
  description: string;
  /** Runs on `close()` (an archive's extraction folder is removed there). */
  onClose?: () => Promise<void>;
  /**
   * Find the root: default looks `name` up with `OciLayout.resolve`, or takes the only
   * manifest of `index.json` when `name` is omitted.
   */
  resolve?: (layout: OciLayout, options: SourceCallOptions) => Promise<Descriptor | undefined>;
}

/** A sigstore attachment's name in a layout's `index.json` (`sha256-<hex>.sig`). */
const isSigstoreAttachment = (name: string) => parseDigestTag(name)?.suffix === 'sig';

/**
 * An OCI image layout directory as an image source: `oci:DIR[:TAG]`, an extracted
 * `oci-archive:`, or the store. Every whole blob read is verified (the store's may skip
 * it when asked: it checked them when it wrote them).
 */
export class LayoutSource implements ImageSource {
  readonly kind: PlaceKind;
  readonly description: string;
  imageName?: string;
  private entry?: Descriptor;

  constructor(
    readonly layout: OciLayout,
    private readonly name: string | undefined,
    private readonly options: LayoutSourceOptions,
  ) {
    this.kind = options.kind ?? 'oci';
    this.description = options.description;
    this.imageName = fullName(name);
  }

  /** The `index.json` entry this source copies. */
  async rootEntry(options: SourceCallOptions = {}): Promise<Descriptor> {
    if (this.entry) return this.entry;
    const found = this.options.resolve
      ? await this.options.resolve(this.layout, options)
      : await this.defaultResolve(options);
    if (!found) {
      throw new NotFoundError(
        `${this.description}: no image named ${JSON.stringify(this.name ?? '')} in ${this.layout.dir}/index.json`,
        'MANIFEST_UNKNOWN',
      );
    }
    this.entry = found;
    this.imageName ??=
      found.annotations?.[IMAGE_NAME_ANNOTATION] ??
      fullName(found.annotations?.[REF_NAME_ANNOTATION]);
    return found;
  }

  private async defaultResolve(options: SourceCallOptions): Promise<Descriptor | undefined> {
    if (this.name !== undefined) return this.layout.resolve(this.name, options);
    const index = await this.layout.index(options);
    // Sigstore attachments (`sha256-<hex>.sig`, a copied image's signatures) are no image.
    const images = index.manifests.filter(
      (d) =>
        (isIndexMediaType(d.mediaType) || isImageManifestMediaType(d.mediaType)) &&
        !isSigstoreAttachment(d.annotations?.[REF_NAME_ANNOTATION] ?? ''),
    );
    if (images.length > 1) {
      const names = images
        .map((d) => d.annotations?.[REF_NAME_ANNOTATION])
        .filter((n) => n !== undefined);
      throw new InvalidArgumentError(
        `${this.description} holds ${images.length} images; name one (${names.join(', ') || 'they have no names'})`,
      );
    }
    return images[0];
  }

  async resolve(options: SourceCallOptions = {}): Promise<Descriptor> {
    return this.rootEntry(options);
  }

  async root(options: SourceCallOptions = {}): Promise<ManifestBytes> {
    return this.manifest(await this.rootEntry(options), options);
  }

  async manifest(desc: Descriptor, options: SourceCallOptions = {}): Promise<ManifestBytes> {
    const bytes = await this.layout.readBlob(desc.digest, {
      signal: options.signal,
      maxBytes: MAX_MANIFEST_BYTES,
    });
    return { bytes, mediaType: desc.mediaType, digest: desc.digest };
  }

  async openBlob(desc: Descriptor, options: OpenSourceBlobOptions = {}): Promise<Readable> {
    const size = await this.layout.hasBlob(desc.digest);
    if (size === undefined) {
      throw new NotFoundError(
        `blob ${desc.digest} not found in ${this.description}`,
        'BLOB_UNKNOWN',
      );
    }
    if (size !== desc.size) {
      throw new InvalidArgumentError(
        `blob ${desc.digest} in ${this.description} has ${size} bytes, its descriptor says ${desc.size}`,
      );
    }
    const { offset, signal } = options;
    if (offset) return this.layout.openBlob(desc.digest, { start: offset, signal });
    // Only the store's own blobs may go unhashed: it checked each when it wrote it.
    const verify = this.kind !== 'store' || options.verify !== false;
    return this.layout.openBlob(desc.digest, { signal, verify });
  }

  async close(): Promise<void> {
    const onClose = this.options.onClose;
    this.options.onClose = undefined;
    await onClose?.();
  }
}
