import type { OciLayout } from '../layout/index.js';
import { isIndex, MAX_MANIFEST_BYTES, MediaType, parseManifest } from '../media/index.js';
import { parseReference } from '../ref/index.js';
import { hasWorkArea, removeIdleWorkArea, Store } from '../store/index.js';
import type { AttachmentRepository } from './sigstore-attachments.js';

/**
 * The name an attachment tag has in a layout's `index.json`: the bare tag in an OCI layout
 * (as cosign names it), `REPOSITORY:TAG` in the ocipeek store, whose names are references
 * (so `store:host/app:1`'s signatures are `host/app:sha256-<hex>.sig`, as in its registry).
 */
export function attachmentName(tag: string, repository?: string): string {
  return repository === undefined ? tag : parseReference(`${repository}:${tag}`).toString();
}

/**
 * Sigstore attachments in an OCI layout being read: the manifest named `sha256-<hex>.sig`
 * in its `index.json` (how cosign and newer containers/image keep them in a layout), or
 * `REPOSITORY:sha256-<hex>.sig` in the store. Read-only: writing throws.
 */
export function layoutAttachments(
  layout: OciLayout,
  signal?: AbortSignal,
  repository?: string,
): AttachmentRepository {
  return {
    async manifest(tag) {
      const descriptor = await layout.resolve(attachmentName(tag, repository), { signal });
      if (!descriptor) return undefined;
      const bytes = await layout.readBlob(descriptor.digest, {
        signal,
        maxBytes: MAX_MANIFEST_BYTES,
      });
      const manifest = parseManifest(bytes, descriptor.mediaType);
      return isIndex(manifest) ? undefined : manifest;
    },
    readBlob: (descriptor, maxBytes) => layout.readBlob(descriptor.digest, { signal, maxBytes }),
    putBlob: () => Promise.reject(new Error('a layout source is read-only')),
    putManifest: () => Promise.reject(new Error('a layout source is read-only')),
  };
}

/**
 * Write sigstore attachments into the OCI layout at `dir` (an `oci:` copy destination, or
 * the store with `repository`):
 * `use` gets a repository that writes blobs and names the attachment manifest with its
 * tag. ocipeek's work area is removed after, unless the layout had one (an ocipeek store),
 * so someone else's layout is left with the image, its signatures and nothing else.
 */
export async function withLayoutAttachments<T>(
  dir: string,
  use: (repo: AttachmentRepository) => Promise<T>,
  signal?: AbortSignal,
  repository?: string,
): Promise<T> {
  const removeWorkArea = !(await hasWorkArea(dir));
  const store = await Store.open(dir, { signal });
  try {
    return await use({
      ...layoutAttachments(store.layout, signal, repository),
      async putBlob(bytes) {
        await store.putManifest(bytes, { mediaType: 'application/octet-stream' }, { signal });
      },
      async putManifest(tag, bytes) {
        const descriptor = await store.putManifest(
          bytes,
          { mediaType: MediaType.ociManifest },
          { signal },
        );
        await store.nameImage([attachmentName(tag, repository)], descriptor, { signal });
      },
    });
  } finally {
    if (removeWorkArea) await removeIdleWorkArea(dir);
  }
}
