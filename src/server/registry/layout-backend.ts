import { isDigest } from '../../digest/index.js';
import { isOcipeekError, NotFoundError } from '../../errors/index.js';
import { layoutReferrers, type OciLayout, tagOfRefName } from '../../layout/index.js';
import {
  type Descriptor,
  MAX_MANIFEST_BYTES,
  type Manifest,
  manifestMediaType,
  parseManifest,
} from '../../media/index.js';
import type {
  BackendBlob,
  BackendCallOptions,
  RegistryBackend,
  StoredManifest,
} from '../storage/registry-storage.js';
import { openLayoutBlob } from './layout-blob.js';
import { byCodeUnits, isTag } from './names.js';
import { VerifiedBlobs } from './verified-blobs.js';

/**
 * A read-only {@link RegistryBackend} over OCI image layouts, one layout per repository.
 *
 * Tags are the `org.opencontainers.image.ref.name` annotations of each `index.json`:
 * bare tags as skopeo writes them (`1.0`), or the tag part of full references
 * (`example.com/app:1.0` → `1.0`). `index.json` is re-read on each request, so a layout
 * updated by another tool is served current; the set of repositories is fixed at start.
 *
 * Only regular files inside a layout are served: a blob that is a symbolic link (or is
 * reached through one), a folder, a FIFO or a device is refused as unknown and logged.
 * Each blob file's digest is checked once, on its first read (whole reads as they
 * stream, ranges by hashing the file first), then trusted while the file is unchanged
 * (see {@link VerifiedBlobs}).
 */
export class LayoutBackend implements RegistryBackend {
  constructor(
    private readonly layouts: Map<string, OciLayout>,
    private readonly options: {
      /** Told about refused blobs, one line each. */
      log?: (line: string) => void;
      /** Shared record of verified blob files (default: a new one). */
      verified?: VerifiedBlobs;
    } = {},
  ) {
    this.verified = options.verified ?? new VerifiedBlobs();
  }

  private readonly verified: VerifiedBlobs;

  private layout(name: string): OciLayout {
    const layout = this.layouts.get(name);
    if (!layout) throw new NotFoundError(`repository ${name} not known`, 'NAME_UNKNOWN');
    return layout;
  }

  async repositories(): Promise<string[]> {
    return [...this.layouts.keys()].sort(byCodeUnits);
  }

  async hasRepository(name: string): Promise<boolean> {
    return this.layouts.has(name);
  }

  async tags(name: string, options: BackendCallOptions = {}): Promise<string[]> {
    const refs = await this.layout(name).refs(options);
    const tags = new Set<string>();
    for (const ref of refs) {
      const tag = tagOfRefName(ref.name);
      if (tag && isTag(tag)) tags.add(tag);
    }
    return [...tags].sort(byCodeUnits);
  }

  async getManifest(
    name: string,
    reference: string,
    options: BackendCallOptions = {},
  ): Promise<StoredManifest | undefined> {
    const layout = this.layout(name);
    let digest: string;
    let announced: string | undefined;
    if (isDigest(reference)) {
      digest = reference;
    } else {
      const found = await layout.resolve(reference, options);
      if (!found) return undefined;
      digest = found.digest;
      announced = found.mediaType;
    }
    let bytes: Buffer;
    try {
      bytes = await layout.readBlob(digest, {
        signal: options.signal,
        maxBytes: MAX_MANIFEST_BYTES,
      });
    } catch (err) {
      if (isOcipeekError(err, NotFoundError.code)) return undefined;
      throw err;
    }
    let manifest: Manifest;
    try {
      manifest = parseManifest(bytes, announced);
    } catch {
      // A blob that is not a manifest (a layer, a config) is not a manifest of this repo.
      return undefined;
    }
    return {
      descriptor: { mediaType: manifestMediaType(manifest, announced), digest, size: bytes.length },
      bytes,
    };
  }

  async openBlob(name: string, digest: string): Promise<BackendBlob | undefined> {
    return openLayoutBlob(this.layout(name).dir, digest, this.verified, this.options.log);
  }

  async referrers(
    name: string,
    digest: string,
    options: BackendCallOptions = {},
  ): Promise<Descriptor[]> {
    return layoutReferrers(this.layout(name), digest, options);
  }
}
