import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { LazyLayerError, TooLargeError } from '../../errors/index.js';
import { readTar, type TarEntry } from '../../tar/index.js';
import type { LazyEntry, PrefetchInfo } from '../lazy-entry.js';
import { memberEnds } from '../lazy-entry.js';
import type { ParsedToc } from '../lazy-layer.js';
import type { BlobRangeSource } from '../range-source.js';
import { lazyEntriesOf, parseTocJson, tocDigestOf } from '../toc-json.js';
import {
  ESTARGZ_FOOTER_SIZE,
  ESTARGZ_TOC_NAME,
  NO_PREFETCH_LANDMARK,
  PREFETCH_LANDMARK,
} from './constants.js';
import { parseEstargzFooter } from './footer.js';

/** Bytes read from a layer's end at first: the footer, and a small TOC with it. */
const TAIL_READ = 8 * 1024;

/** Options for {@link openEstargzLayer}. */
export interface OpenEstargzOptions {
  /** The descriptor's `containerd.io/snapshot/stargz/toc.digest`; the TOC must match it. */
  tocDigest?: string;
  /** The layer claims to be eStargz: a missing footer is an error, not "not eStargz". */
  required?: boolean;
  /** Largest compressed TOC fetched (default 64 MiB). */
  maxTocBytes?: number;
  signal?: AbortSignal;
}

/** The TOC file's own tar entry and JSON bytes, out of the TOC's gzip member. */
async function untarToc(
  tarBytes: Buffer,
  description: string,
): Promise<{ entry: TarEntry; json: Buffer }> {
  try {
    // The TOC member starts with the TOC's own tar header: anything else means the footer
    // points somewhere else.
    for await (const record of readTar(Readable.from([tarBytes]), { allowMissingEnd: true })) {
      if (record.entry.path !== ESTARGZ_TOC_NAME) break;
      const parts: Buffer[] = [];
      for await (const part of record.readBody()) parts.push(Buffer.from(part));
      return { entry: record.entry, json: Buffer.concat(parts) };
    }
  } catch (err) {
    throw new LazyLayerError(description, 'footer', 'the footer does not point at the TOC', {
      cause: err,
    });
  }
  throw new LazyLayerError(
    description,
    'footer',
    `the footer does not point at a ${ESTARGZ_TOC_NAME} entry`,
  );
}

function prefetchOf(entries: LazyEntry[]): PrefetchInfo {
  const at = entries.findIndex((e) => e.path === PREFETCH_LANDMARK);
  if (at >= 0) {
    return {
      landmark: 'prefetch',
      files: entries
        .slice(0, at)
        .filter((e) => e.type === 'file')
        .map((e) => e.path),
    };
  }
  if (entries.some((e) => e.path === NO_PREFETCH_LANDMARK)) return { landmark: 'none', files: [] };
  return { landmark: 'absent', files: [] };
}

/**
 * Read an eStargz layer's footer and TOC (one suffix range request of the last 8 KiB, and
 * one more for the rest of a larger TOC), and check the TOC against `tocDigest`. Resolves to `undefined` when the layer has no stargz footer
 * and is not `required` to.
 */
export async function openEstargzLayer(
  source: BlobRangeSource,
  options: OpenEstargzOptions = {},
): Promise<ParsedToc | undefined> {
  const { description } = source;
  const fail = (problem: 'footer' | 'toc' | 'toc-digest', message: string, cause?: unknown) =>
    new LazyLayerError(description, problem, message, cause ? { cause } : undefined);
  if (source.size < ESTARGZ_FOOTER_SIZE) {
    if (options.required) throw fail('footer', 'too small to hold an eStargz footer');
    return undefined;
  }
  // One request for the footer and, when the TOC is small (as a top layer's usually is),
  // the whole TOC with it.
  const tail = await source.tail(Math.min(source.size, TAIL_READ), { signal: options.signal });
  const tailStart = source.size - tail.length;
  const footer = parseEstargzFooter(tail);
  if (!footer) {
    if (options.required) {
      throw fail('footer', 'the descriptor announces eStargz but the layer has no stargz footer');
    }
    return undefined;
  }
  const tocEnd = source.size - footer.footerSize;
  if (footer.tocOffset >= tocEnd) {
    throw fail('footer', `the footer puts the TOC at ${footer.tocOffset}, outside the layer`);
  }
  const maxToc = options.maxTocBytes ?? 64 * 1024 * 1024;
  if (tocEnd - footer.tocOffset > maxToc) {
    throw new TooLargeError(`TOC of ${description}`, maxToc);
  }
  const compressed =
    footer.tocOffset >= tailStart
      ? tail.subarray(footer.tocOffset - tailStart, tocEnd - tailStart)
      : Buffer.concat([
          await source.read(footer.tocOffset, tailStart, { signal: options.signal }),
          tail.subarray(0, tocEnd - tailStart),
        ]);
  let tarBytes: Buffer;
  try {
    tarBytes = gunzipSync(compressed, { maxOutputLength: maxToc * 16 });
  } catch (err) {
    throw fail(
      'footer',
      `no gzip member starts at the footer's TOC offset ${footer.tocOffset}`,
      err,
    );
  }
  const { entry: tocEntry, json } = await untarToc(tarBytes, description);
  const tocDigest = tocDigestOf(json, options.tocDigest || undefined, (actual) =>
    fail('toc-digest', `TOC digest ${actual} does not match the annotation's ${options.tocDigest}`),
  );
  const toc = parseTocJson(json, description);
  const endOf = memberEnds(
    toc.entries.map((e) => e?.offset ?? 0).filter((o) => o > 0),
    footer.tocOffset,
  );
  const entries = lazyEntriesOf(toc.entries, {
    description,
    bound: footer.tocOffset,
    chunkEnd: (r) => (typeof r.offset === 'number' ? endOf(r.offset) : undefined),
  });
  // The TOC file is a real member of the tar too: list it, so a lazy listing equals what
  // reading the layer as an ordinary tar gives.
  entries.push({ ...tocEntry, headerOffset: entries.length, dataOffset: -1, chunks: [] });
  return {
    entries,
    tocDigest,
    tocVerified: options.tocDigest !== undefined,
    prefetch: prefetchOf(entries),
    inline: new Map([[ESTARGZ_TOC_NAME, json]]),
  };
}
