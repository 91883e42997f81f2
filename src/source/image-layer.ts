import type { Readable } from 'node:stream';
import type { Descriptor } from '../media/index.js';

/**
 * One layer of an image, bottom layer 0: what the filesystem view, `cat`, conversion and
 * unpack read. Whatever place the image is in, `open` gives the compressed bytes.
 */
export interface ImageLayer {
  /** 0-based position in the image (bottom layer 0); used in messages and warnings. */
  index: number;
  /** The manifest's descriptor: digest, size and media type of the compressed blob. */
  descriptor: Descriptor;
  /** The config's `rootfs.diff_ids` entry: the digest of the uncompressed tar. */
  diffId?: string;
  /** The compressed bytes, size-limited and digest-verified as they stream. */
  open(options?: LayerOpenOptions): Promise<Readable>;
}

/** Options of {@link ImageLayer.open}. */
export interface LayerOpenOptions {
  signal?: AbortSignal;
  /**
   * `false` lets a layer read from the local store skip hashing its compressed bytes
   * (they were verified when stored); for callers that check the uncompressed digest
   * (`diffId`) themselves, which covers every byte they use. Bytes nobody has checked
   * yet (registries, layouts, archives) are always verified.
   */
  verify?: boolean;
}
