import type { TarEntry } from '../tar/index.js';

/**
 * Where one piece of a regular file's content sits in a lazy layer: a compressed member
 * (gzip member or zstd frame) that can be fetched and decompressed on its own.
 */
export interface LazyChunk {
  /** Compressed offset of the member in the blob. */
  offset: number;
  /** Compressed end (exclusive): the next member's offset, or the TOC's. */
  end: number;
  /** Bytes to drop from the member's decompressed output before the chunk starts. */
  innerOffset: number;
  /** Offset of this chunk in the file's content. */
  chunkOffset: number;
  /** Decompressed size of this chunk. */
  chunkSize: number;
  /** Digest of the chunk's decompressed bytes, when the TOC records one. */
  digest?: string;
}

/**
 * A TOC entry shaped like a tar entry (so the filesystem view takes it as is), plus what a
 * lazy read needs. `headerOffset` is the entry's position in the TOC (lazy layers have no
 * uncompressed offsets to offer) and `dataOffset` is -1.
 */
export interface LazyEntry extends TarEntry {
  /** Digest of the whole content of a regular file, when the TOC records one. */
  digest?: string;
  /** Content pieces of a regular file in order (empty for other types and empty files). */
  chunks: LazyChunk[];
}

/** Which files a layer asks runtimes to fetch first (eStargz landmarks). */
export interface PrefetchInfo {
  /** `prefetch`: files before `.prefetch.landmark`; `none`: `.no.prefetch.landmark`. */
  landmark: 'prefetch' | 'none' | 'absent';
  /** Paths of the prioritized files, in layer order (empty unless `prefetch`). */
  files: string[];
}

/** Sorted distinct member offsets plus a final bound, to find where each member ends. */
export function memberEnds(offsets: number[], bound: number): (offset: number) => number {
  const sorted = [...new Set(offsets)].sort((a, b) => a - b);
  return (offset) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    return sorted[lo] ?? bound;
  };
}
