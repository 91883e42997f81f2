import type { Reference } from '../ref/index.js';
import type { RegistryClient } from './registry-client.js';

/** An image about to be read from a registry, as a trust policy sees it. */
export interface ImageToVerify {
  /** The reference as asked for (the image's identity). */
  ref: Reference;
  /** Where it is read from (a mirror, or a rewritten location); signatures live there. */
  served: Reference;
  /** The root manifest or index: exact bytes and digest. */
  rootDigest: string;
  rootBytes: Buffer;
}

/** An image about to be read from a local place (a layout or an archive). */
export interface LocalImageToVerify {
  /** The policy.json transport: `oci`, `oci-archive` or `docker-archive`. */
  transport: 'oci' | 'oci-archive' | 'docker-archive';
  /** The layout folder or archive file, absolute. */
  path: string;
  /** The image's name in the layout (`oci:DIR:TAG`), when the place names one. */
  tag?: string;
  /** The place as shown in messages (`oci:/tmp/x:v1`). */
  description: string;
}

/**
 * Decides whether an image may be read at all (policy.json, `trust/`): the registry source
 * asks it about the root manifest before it hands out any manifest or blob, so a refused
 * image leaves nothing behind. It resolves to a verdict to show, or throws.
 */
export interface ImageTrust {
  verify(
    image: ImageToVerify,
    client: RegistryClient,
    options: { signal?: AbortSignal },
  ): Promise<unknown>;
  /**
   * The same for an image in a local place, asked before the place is opened (an archive
   * is not even extracted when its image is refused). Without it, local places are read
   * unchecked.
   */
  verifyLocal?(image: LocalImageToVerify): Promise<unknown>;
  /**
   * A digest of everything a verdict depends on besides the image and its signatures (the
   * policy's requirements and the keys they name): a verdict kept under it still holds
   * while it is the same. Without it, verdicts are not kept (the pull-through cache asks
   * again after a restart).
   */
  fingerprint?(): Promise<string>;
}
