import { InvalidArgumentError, UnsupportedError } from '../errors/index.js';
import type { RegistryClient } from '../registry/index.js';
import type { OpenedImage } from '../source/index.js';
import type { Store } from '../store/index.js';
import { requiredOption } from '../util/required-option.js';
import { mapPool } from '../util/task-pool.js';
import { DEFAULT_PEEK_BYTES, type PeekEntry, peekBlob } from './peek-layer.js';
import { PeekedLayer } from './peek-links.js';
import { type PeekRangeSource, registryPeekSource, storePeekSource } from './peek-source.js';

/** Options for {@link peekImage}. */
export interface PeekImageOptions {
  /** Reads layers of a registry image (required for them). */
  client?: RegistryClient;
  /** Reads layers of an image opened from the store (`image.location === 'store'`). */
  store?: Store;
  /** Layer indexes (bottom 0) or `'all'` (default). */
  layers?: number[] | 'all';
  /** Compressed bytes read from the start of each layer (default 256 KiB); fixed window. */
  bytes?: number;
  /** Layers peeked at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
}

/** One layer's peek, in the `peek --json` shape. */
export interface LayerPeekResult {
  index: number;
  digest: string;
  /** Compressed size. */
  size: number;
  bytesFetched: number;
  /** Compressed bytes read, fetched or from the store. */
  bytesRead: number;
  complete: boolean;
  /** Present (true) when the registry ignored `Range` and sent the whole blob. */
  rangeIgnored?: true;
  entries: PeekEntry[];
}

/** What {@link peekImage} found: the `peek --json` document. */
export interface ImagePeekResult {
  ref: string;
  /** The image manifest's digest. */
  digest: string;
  /** Compressed bytes fetched for all peeked layers together (manifests not included). */
  bytesFetched: number;
  layers: LayerPeekResult[];
}

/**
 * Peek at the first `bytes` of some or all layers of an opened image, at most
 * `concurrency` at a time, and collect what each shows (see {@link peekBlob}). Layers of a
 * stored image are read from the store's blob files and cost no fetched bytes.
 */
export async function peekImage(
  image: OpenedImage,
  options: PeekImageOptions,
): Promise<ImagePeekResult> {
  const wanted = options.layers ?? 'all';
  const indexes = wanted === 'all' ? image.layers.map((l) => l.index) : wanted;
  for (const i of indexes) {
    if (!Number.isInteger(i) || i < 0 || i >= image.layers.length) {
      throw new InvalidArgumentError(
        `layer ${i} does not exist: the image has ${image.layers.length} layer(s), numbered from 0 at the bottom`,
      );
    }
  }
  let source: PeekRangeSource;
  if (image.location === 'store') {
    source = storePeekSource({
      store: requiredOption(options, 'store', `peekImage of stored ${image.name}`),
    });
  } else if (image.location === 'registry') {
    source = registryPeekSource(image.name, {
      client: requiredOption(options, 'client', `peekImage of ${image.name}`),
    });
  } else {
    throw new UnsupportedError(
      `peek reads registry and store images by range; ${image.name} is a local ${image.location} place (ls and cat read it whole)`,
    );
  }
  const bytes = options.bytes ?? DEFAULT_PEEK_BYTES;
  const results = await mapPool(
    indexes,
    async (i, signal) => {
      const layer = image.layers[i]!;
      const result: LayerPeekResult = {
        index: layer.index,
        digest: layer.descriptor.digest,
        size: layer.descriptor.size,
        bytesFetched: 0,
        bytesRead: 0,
        complete: false,
        entries: [],
      };
      const events = peekBlob(source, layer.descriptor, {
        initialBytes: bytes,
        maxBytes: bytes,
        layer: layer.index,
        signal,
      });
      for await (const ev of events) {
        if (ev.kind === 'entry') result.entries.push(ev.entry);
        else {
          result.bytesFetched = ev.summary.bytesFetched;
          result.bytesRead = ev.summary.bytesRead;
          result.complete = ev.summary.complete;
          if (ev.summary.rangeIgnored) result.rangeIgnored = true;
        }
      }
      // Hardlinks as the files they name, with link counts, as `ls -l` shows them.
      if (result.entries.some((e) => e.type === 'hardlink')) {
        const peeked = await PeekedLayer.of(result.entries);
        result.entries = result.entries.map((e) => peeked.resolve(e));
      }
      return result;
    },
    { concurrency: options.concurrency ?? 4, signal: options.signal },
  );
  return {
    ref: image.name,
    digest: image.manifestDigest,
    bytesFetched: results.reduce((n, r) => n + r.bytesFetched, 0),
    layers: results,
  };
}
