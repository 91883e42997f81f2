import { LazyLayerError, TooLargeError } from '../../errors/index.js';
import { inflatePrefix } from '../inflate-prefix.js';
import type { ParsedToc } from '../lazy-layer.js';
import type { BlobRangeSource } from '../range-source.js';
import { lazyEntriesOf, parseTocJson, tocDigestOf } from '../toc-json.js';
import {
  parsePositionAnnotation,
  parseZstdChunkedFooter,
  ZSTD_CHUNKED_TAIL,
  type ZstdChunkedPosition,
} from './footer.js';

/** Options for {@link openZstdChunkedLayer}. */
export interface OpenZstdChunkedOptions {
  /** The descriptor's manifest-position annotation (saves reading the footer). */
  position?: string;
  /** The descriptor's manifest-checksum annotation: digest of the compressed TOC. */
  checksum?: string;
  /** The layer claims to be zstd:chunked: a missing footer is an error. */
  required?: boolean;
  /** Largest TOC accepted, compressed or not (default 256 MiB). */
  maxTocBytes?: number;
  signal?: AbortSignal;
}

/**
 * Find, fetch and check a zstd:chunked layer's TOC: its position from the annotation or
 * the footer, its compressed bytes checked against the checksum annotation, then
 * decompressed (`zstd -dc`) and parsed. `undefined` when the layer has no footer and is not
 * `required` to.
 */
export async function openZstdChunkedLayer(
  source: BlobRangeSource,
  options: OpenZstdChunkedOptions = {},
): Promise<ParsedToc | undefined> {
  const { description } = source;
  const fail = (
    problem: 'footer' | 'toc' | 'toc-digest' | 'offset',
    message: string,
    cause?: unknown,
  ) => new LazyLayerError(description, problem, message, cause ? { cause } : undefined);
  let position: ZstdChunkedPosition | undefined;
  if (options.position) {
    position = parsePositionAnnotation(options.position);
    if (!position) throw fail('toc', `bad manifest-position annotation ${options.position}`);
  } else {
    const tail =
      source.size >= ZSTD_CHUNKED_TAIL
        ? await source.tail(ZSTD_CHUNKED_TAIL, { signal: options.signal })
        : undefined;
    position = tail && parseZstdChunkedFooter(tail);
    if (!position) {
      if (options.required) throw fail('footer', 'no zstd:chunked footer at the end of the layer');
      return undefined;
    }
  }
  if (position.type !== 1) {
    throw fail('toc', `TOC type ${position.type} is not supported (only 1, JSON)`);
  }
  if (position.offset + position.length > source.size || position.length === 0) {
    throw fail(
      'offset',
      `the TOC at ${position.offset}+${position.length} lies outside the layer (${source.size} bytes)`,
    );
  }
  const maxToc = options.maxTocBytes ?? 256 * 1024 * 1024;
  if (position.length > maxToc || position.uncompressedLength > maxToc) {
    throw new TooLargeError(`TOC of ${description}`, maxToc);
  }
  const compressed = await source.read(position.offset, position.offset + position.length, {
    signal: options.signal,
  });
  const tocDigest = tocDigestOf(compressed, options.checksum || undefined, (actual) =>
    fail(
      'toc-digest',
      `TOC checksum ${actual} does not match the annotation's ${options.checksum}`,
    ),
  );
  let json: Buffer;
  try {
    json = await inflatePrefix(compressed, 'zstd', position.uncompressedLength, {
      signal: options.signal,
    });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    throw fail('toc', `the TOC at ${position.offset} does not decompress`, err);
  }
  const toc = parseTocJson(json, description);
  const entries = lazyEntriesOf(toc.entries, {
    description,
    bound: position.offset,
    chunkEnd: (r) => r.endOffset,
  });
  return {
    entries,
    tocDigest,
    tocVerified: options.checksum !== undefined,
    prefetch: { landmark: 'absent', files: [] },
  };
}
