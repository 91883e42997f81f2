/** Descriptor annotation holding the digest of an eStargz layer's TOC JSON. */
export const ESTARGZ_TOC_DIGEST_ANNOTATION = 'containerd.io/snapshot/stargz/toc.digest';

/** Descriptor annotation holding the size of the layer's uncompressed tar. */
export const ESTARGZ_UNCOMPRESSED_SIZE_ANNOTATION = 'io.containers.estargz.uncompressed-size';

/** Name of the TOC tar entry, the layer's last entry. */
export const ESTARGZ_TOC_NAME = 'stargz.index.json';

/** Marks the end of the prioritized (prefetch) files. */
export const PREFETCH_LANDMARK = '.prefetch.landmark';

/** Present when a layer has no prioritized files. */
export const NO_PREFETCH_LANDMARK = '.no.prefetch.landmark';

/** The content of both landmark files: one byte, 0xf. */
export const LANDMARK_CONTENT = Buffer.from([0x0f]);

/** Size of the eStargz footer; stargz (CRFS) footers are 47 bytes. */
export const ESTARGZ_FOOTER_SIZE = 51;

/** Size of the legacy stargz footer. */
export const LEGACY_FOOTER_SIZE = 47;
