import { Readable } from 'node:stream';
import type { FsNode } from '../layer-rules/fs-node.js';
import { assertRegularFile, LayerRules, resolvePath } from '../layer-rules/index.js';
import type { Descriptor } from '../media/index.js';
import { normalizeTarPath } from '../tar/index.js';
import { openChunkedFile } from './chunked-file.js';
import { ESTARGZ_TOC_DIGEST_ANNOTATION } from './estargz/constants.js';
import { openEstargzLayer } from './estargz/open-estargz.js';
import type { MemberCompression } from './inflate-prefix.js';
import type { LazyEntry, PrefetchInfo } from './lazy-entry.js';
import type { BlobRangeSource } from './range-source.js';
import {
  ZSTD_CHUNKED_POSITION_ANNOTATIONS,
  zstdChunkedAnnotation,
} from './zstd-chunked/constants.js';
import { openZstdChunkedLayer } from './zstd-chunked/open-zstd-chunked.js';

/** The lazily readable layer formats. */
export type LazyFormat = 'estargz' | 'zstd:chunked' | 'seek-index';

/** Options of {@link LazyLayer.open}. */
export interface LazyOpenOptions {
  signal?: AbortSignal;
}

/**
 * A layer whose table of contents has been fetched (and verified against the layer
 * descriptor's annotation when it carries one): every entry is known without downloading
 * the layer, and each file can be read by fetching only its own chunks.
 */
export interface LazyLayer {
  readonly format: LazyFormat;
  /** Where the bytes come from; its `bytesRead`/`requests` tell what reading cost. */
  readonly source: BlobRangeSource;
  /** Digest of the TOC as fetched. */
  readonly tocDigest: string;
  /** True when the TOC was checked against the descriptor's annotation. */
  readonly tocVerified: boolean;
  /** Prioritized files (eStargz landmarks); `absent` for zstd:chunked. */
  readonly prefetch: PrefetchInfo;
  /** Every entry of the layer, in layer order, shaped like tar entries. */
  list(): LazyEntry[];
  /** The entry at `path` (leading `/` and `./` ignored), if the layer has one. */
  entry(path: string): LazyEntry | undefined;
  /**
   * Stream the regular file at `path` of this layer taken alone, verified chunk by chunk:
   * the layer's entries applied by the layer rules (as if it were the whole image), then
   * symlinks and hard links followed inside it.
   */
  open(path: string, options?: LazyOpenOptions): Readable;
  /** Stream one of this layer's regular file entries, verified chunk by chunk. */
  openEntry(entry: LazyEntry, options?: LazyOpenOptions): Readable;
}

/** Options for {@link openLazyLayer}. */
export interface OpenLazyLayerOptions {
  /**
   * Without a format annotation on the descriptor, fetch the layer's last bytes to look for
   * a footer (one small range request). Default true.
   */
  probe?: boolean;
  signal?: AbortSignal;
}

/** The lazy format a descriptor's annotations announce, without any I/O. */
export function lazyFormatOf(descriptor: Descriptor): LazyFormat | undefined {
  const annotations = descriptor.annotations ?? {};
  if (annotations[ESTARGZ_TOC_DIGEST_ANNOTATION]) return 'estargz';
  if (ZSTD_CHUNKED_POSITION_ANNOTATIONS.some((k) => annotations[k])) return 'zstd:chunked';
  return undefined;
}

function isZstdMedia(mediaType: string): boolean {
  return mediaType.endsWith('+zstd') || mediaType.endsWith('.zstd');
}

function isGzipMedia(mediaType: string): boolean {
  return /gzip$/.test(mediaType);
}

/**
 * Open `descriptor`'s layer lazily when it is eStargz or zstd:chunked, reading its footer
 * and TOC through `source`; `undefined` when it is an ordinary layer. A layer that claims a
 * lazy format (annotation or footer) but whose footer, TOC or digests are wrong fails with
 * a `LazyLayerError` naming the layer.
 */
export async function openLazyLayer(
  source: BlobRangeSource,
  descriptor: Descriptor,
  options: OpenLazyLayerOptions = {},
): Promise<LazyLayer | undefined> {
  const announced = lazyFormatOf(descriptor);
  const probe = options.probe ?? true;
  if (announced === 'estargz' || (!announced && probe && isGzipMedia(descriptor.mediaType))) {
    const toc = await openEstargzLayer(source, {
      tocDigest: descriptor.annotations?.[ESTARGZ_TOC_DIGEST_ANNOTATION],
      required: announced === 'estargz',
      signal: options.signal,
    });
    return toc && new TocLayer('estargz', 'gzip', source, toc);
  }
  if (announced === 'zstd:chunked' || (!announced && probe && isZstdMedia(descriptor.mediaType))) {
    const toc = await openZstdChunkedLayer(source, {
      position: zstdChunkedAnnotation(descriptor, 'position'),
      checksum: zstdChunkedAnnotation(descriptor, 'checksum'),
      required: announced === 'zstd:chunked',
      signal: options.signal,
    });
    return toc && new TocLayer('zstd:chunked', 'zstd', source, toc);
  }
  return undefined;
}

/** A parsed, checked table of contents (what each format's opener hands back). */
export interface ParsedToc {
  entries: LazyEntry[];
  tocDigest: string;
  tocVerified: boolean;
  prefetch: PrefetchInfo;
  /** Files whose bytes are known without a fetch (the eStargz TOC file itself). */
  inline?: Map<string, Buffer>;
}

/** A layer read through its parsed TOC; subclasses say how an entry's bytes are read. */
export class TocLayer implements LazyLayer {
  readonly tocDigest: string;
  readonly tocVerified: boolean;
  readonly prefetch: PrefetchInfo;
  private readonly entries: LazyEntry[];
  private readonly byPath = new Map<string, LazyEntry>();
  private readonly inline: Map<string, Buffer>;
  /** The layer's own tree, built by the layer rules on the first {@link open}. */
  private tree: FsNode | undefined;

  constructor(
    readonly format: LazyFormat,
    private readonly compression: MemberCompression,
    readonly source: BlobRangeSource,
    toc: ParsedToc,
  ) {
    this.entries = toc.entries;
    this.tocDigest = toc.tocDigest;
    this.tocVerified = toc.tocVerified;
    this.prefetch = toc.prefetch;
    this.inline = toc.inline ?? new Map();
    // Later entries win, as when a tar is extracted.
    for (const e of toc.entries) this.byPath.set(e.path, e);
  }

  list(): LazyEntry[] {
    return this.entries;
  }

  entry(path: string): LazyEntry | undefined {
    return this.byPath.get(normalizeTarPath(path));
  }

  open(path: string, options: LazyOpenOptions = {}): Readable {
    if (this.tree === undefined) {
      const rules = new LayerRules({ events: { refused: () => {} } });
      for (const e of this.entries) rules.apply(e);
      this.tree = rules.root;
    }
    const { node } = resolvePath(this.tree, path, true);
    assertRegularFile(node.type, path);
    return this.openEntry(this.entries[node.headerOffset]!, options);
  }

  openEntry(entry: LazyEntry, options: LazyOpenOptions = {}): Readable {
    const inline = this.inline.get(entry.path);
    if (inline) return Readable.from([inline]);
    return openChunkedFile(this.source, entry, this.compression, options);
  }
}
