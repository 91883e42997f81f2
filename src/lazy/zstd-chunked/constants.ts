import type { Descriptor } from '../../media/index.js';

/**
 * Descriptor annotations giving the TOC ("manifest") position as
 * `offset:length:uncompressedLength:type`: the current name first, then the one
 * containers/storage used before (skopeo 1.9.3 writes that one).
 */
export const ZSTD_CHUNKED_POSITION_ANNOTATIONS = [
  'io.github.containers.zstd-chunked.manifest-position',
  'io.containers.zstd-chunked.manifest-position',
] as const;

/** Descriptor annotations with the digest of the compressed TOC, newest name first. */
export const ZSTD_CHUNKED_CHECKSUM_ANNOTATIONS = [
  'io.github.containers.zstd-chunked.manifest-checksum',
  'io.containers.zstd-chunked.manifest-checksum',
] as const;

/**
 * Descriptor annotation giving the tar-split's position as `offset:length:uncompressedLength`
 * (containers/storage 1.45 and later write one after the TOC).
 */
export const ZSTD_CHUNKED_TARSPLIT_POSITION_ANNOTATION =
  'io.github.containers.zstd-chunked.tarsplit-position';

/** The tar-split's digest annotation, written by c/storage 1.45 to 1.53 only (now in the TOC). */
export const ZSTD_CHUNKED_TARSPLIT_CHECKSUM_ANNOTATION =
  'io.github.containers.zstd-chunked.tarsplit-checksum';

/** The magic closing a zstd:chunked footer as containers/storage writes it now: `GNUlInUx`. */
export const ZSTD_CHUNKED_MAGIC = Buffer.from('GNUlInUx', 'latin1');

/** The magic of the 40-byte footer of c/storage before 1.45 (skopeo 1.9.3): `GnUlInUx`. */
export const ZSTD_CHUNKED_MAGIC_OLD = Buffer.from('GnUlInUx', 'latin1');

/** The TOC type the position annotation and footer carry for a CRFS-style JSON TOC. */
export const MANIFEST_TYPE_CRFS = 1;

/** Magic of a zstd skippable frame (little endian), as containers/storage writes it. */
export const SKIPPABLE_FRAME_MAGIC = 0x184d2a50;

/** The first annotation of `kind` present on `descriptor`. */
export function zstdChunkedAnnotation(
  descriptor: Descriptor,
  kind: 'position' | 'checksum',
): string | undefined {
  const keys =
    kind === 'position' ? ZSTD_CHUNKED_POSITION_ANNOTATIONS : ZSTD_CHUNKED_CHECKSUM_ANNOTATIONS;
  for (const key of keys) {
    const value = descriptor.annotations?.[key];
    if (value) return value;
  }
  return undefined;
}
