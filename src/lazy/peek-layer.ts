import {
  type Compression,
  compressionOfMediaType,
  detectCompression,
  MAGIC_LENGTH,
} from '../compression/index.js';
import { InvalidTarError } from '../errors/index.js';
import type { EntryJson } from '../fs/index.js';
import type { Reference } from '../ref/index.js';
import type { RegistryClient } from '../registry/index.js';
import { readTar, type TarEntry, type TarRecord } from '../tar/index.js';
import { requiredOption } from '../util/required-option.js';
import { decodeWindow } from './peek-decode.js';
import { type PeekRangeSource, RangeWindow, registryPeekSource } from './peek-source.js';

/** Default first window: 256 KiB of compressed bytes. */
export const DEFAULT_PEEK_BYTES = 256 * 1024;

/** One tar entry found by a peek, in the CLI's entry JSON shape plus `partial`. */
export interface PeekEntry extends EntryJson {
  /** The entry's content runs past the bytes read: its header is known, its body is not. */
  partial?: true;
}

/** What a peek of one layer found and cost. */
export interface PeekSummary {
  digest: string;
  /** Compressed size from the descriptor. */
  size: number;
  /** Compressed bytes fetched over the network (0 when read from the store). */
  bytesFetched: number;
  /** Compressed bytes read, from wherever. */
  bytesRead: number;
  /** Range requests (or file reads) made. */
  requests: number;
  /** Entries yielded. */
  entries: number;
  /** Uncompressed tar bytes decoded. */
  tarBytes: number;
  compression: Compression;
  /**
   * The listing holds every entry of the layer: the end-of-archive marker was reached, or
   * the whole blob was read and parsed. Never true for a listing cut off by the window.
   */
  complete: boolean;
  /** The server ignored `Range` and sent the whole blob; only the window was read from it. */
  rangeIgnored: boolean;
}

/** What {@link peekLayer} yields: entries as they are parsed, then one summary. */
export type PeekEvent =
  | {
      kind: 'entry';
      entry: PeekEntry;
      /** Compressed bytes fetched so far (for consumers that stop early). */
      bytesFetched: number;
    }
  | { kind: 'summary'; summary: PeekSummary };

/** Options for {@link peekBlob}. */
export interface PeekBlobOptions {
  /** Compressed bytes of the first range request (default 256 KiB). */
  initialBytes?: number;
  /**
   * Never read more than this many compressed bytes (default: no limit, the window grows
   * to the whole blob if the consumer keeps asking). Set it to `initialBytes` for a fixed
   * window.
   */
  maxBytes?: number;
  /** Compressed bytes of each further request (default: as many as read so far, ≤ 16 MiB). */
  growBy?: number;
  /** The layer index put on entries (default 0). */
  layer?: number;
  signal?: AbortSignal;
}

/** Options for {@link peekLayer}. */
export interface PeekLayerOptions extends PeekBlobOptions {
  /** The client the layer's bytes are fetched through. */
  client: RegistryClient;
}

/** The layer descriptor fields a peek needs. */
export interface PeekDescriptor {
  digest: string;
  size: number;
  mediaType?: string;
}

function toPeekEntry(e: TarEntry, layer: number, partial: boolean): PeekEntry {
  const out: PeekEntry = {
    path: `/${e.path}`,
    type: e.type,
    size: e.size,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtime: e.mtime,
    layer,
  };
  if (e.linkname !== undefined) {
    out.linkname = e.type === 'hardlink' ? `/${e.linkname}` : e.linkname;
  }
  if (e.type === 'char' || e.type === 'block') {
    out.devMajor = e.devmajor ?? 0;
    out.devMinor = e.devminor ?? 0;
  }
  if (partial) out.partial = true;
  return out;
}

/** Pull enough of `input` to see the magic bytes, then replay it whole. */
async function sniff(
  input: AsyncGenerator<Buffer>,
  mediaType: string | undefined,
): Promise<{ compression: Compression; rest: AsyncGenerator<Buffer> }> {
  const head: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < MAGIC_LENGTH) {
    const r = await input.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    have += r.value.length;
  }
  const magic = Buffer.concat(head, have);
  // The magic bytes win; the media type decides only for a window too short to tell.
  const compression =
    have >= MAGIC_LENGTH || !mediaType
      ? detectCompression(magic)
      : (compressionOfMediaType(mediaType) ?? detectCompression(magic));
  async function* rest(): AsyncGenerator<Buffer> {
    try {
      yield* head;
      if (!done) yield* input;
    } finally {
      await input.return(undefined);
    }
  }
  return { compression, rest: rest() };
}

/**
 * List the tar entries of layer `descriptor` of repository `repo` from its first bytes,
 * fetched with `Range` through `options.client`: see {@link peekBlob}.
 *
 * @example
 * ```ts
 * for await (const ev of peekLayer('reg/app:1', layer, { client, maxBytes: 256 * 1024 })) {
 *   if (ev.kind === 'entry') console.log(ev.entry.path, ev.entry.partial ? '(partial)' : '');
 *   else console.log(ev.summary.complete ? 'complete' : 'truncated', ev.summary.bytesFetched);
 * }
 * ```
 */
export function peekLayer(
  repo: Reference | string,
  descriptor: PeekDescriptor,
  options: PeekLayerOptions,
): AsyncGenerator<PeekEvent, void, undefined> {
  const client = requiredOption(options, 'client', 'peekLayer(repo, descriptor, { client })');
  return peekBlob(registryPeekSource(repo, { client }), descriptor, options);
}

/**
 * List the tar entries of a layer blob read from its start: the first `initialBytes` are
 * read, decompressed as far as they allow (gzip, zstd or plain tar, by magic bytes), and
 * their headers scanned, content skipped; each entry is yielded as soon as it is known.
 * When the consumer asks for more than the window holds, the next chunk is read with
 * another range request and fed to the same decompressor, up to `maxBytes`; when the
 * consumer stops, reading stops.
 *
 * An entry whose content runs past what can be read is yielded with `partial: true` and
 * ends the listing. (To decide that, an entry whose content lies beyond the bytes decoded
 * so far has its content read through — the window grows over it when it may.) The final
 * `summary` event says whether the listing is `complete`.
 */
export async function* peekBlob(
  source: PeekRangeSource,
  descriptor: PeekDescriptor,
  options: PeekBlobOptions = {},
): AsyncGenerator<PeekEvent, void, undefined> {
  const { signal } = options;
  const layer = options.layer ?? 0;
  const window = new RangeWindow(source, descriptor, {
    initialBytes: options.initialBytes ?? DEFAULT_PEEK_BYTES,
    maxBytes: options.maxBytes,
    growBy: options.growBy,
    signal,
  });
  const fetched = () => (source.remote ? window.bytesRead : 0);
  const { compression, rest } = await sniff(window.chunks(), descriptor.mediaType);
  let tarBytes = 0;
  let decodedAll = false;
  const decoded = decodeWindow(compression, rest, {
    atBlobEnd: () => window.reachedEnd,
    signal,
  });
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of decoded) {
      tarBytes += chunk.length;
      yield chunk;
    }
    decodedAll = true;
  }
  const tarSource = counted();
  const tar = readTar(tarSource, { allowMissingEnd: true, drain: false, signal });
  // Tar errors are the window's edge, not bad data, once the decoder ran dry before the
  // blob's end.
  const cutOff = (err: unknown) =>
    err instanceof InvalidTarError && decodedAll && !window.reachedEnd;
  let entries = 0;
  let truncated = false;
  try {
    for (;;) {
      let step: IteratorResult<TarRecord>;
      try {
        step = await tar.next();
      } catch (err) {
        if (!cutOff(err)) throw err;
        truncated = true;
        break;
      }
      if (step.done) {
        // Without the end marker, a stream that ran dry is whole only at the blob's end.
        truncated = decodedAll && !window.reachedEnd;
        break;
      }
      const e = step.value.entry;
      let partial = false;
      if (e.dataOffset + e.size > tarBytes || e.sparse) {
        try {
          for await (const _ of step.value.readBody());
        } catch (err) {
          if (!cutOff(err)) throw err;
          partial = true;
        }
      }
      entries++;
      yield { kind: 'entry', entry: toPeekEntry(e, layer, partial), bytesFetched: fetched() };
      if (partial) {
        truncated = true;
        break;
      }
    }
  } finally {
    await tar.return(undefined);
    await tarSource.return(undefined);
  }
  yield {
    kind: 'summary',
    summary: {
      digest: descriptor.digest,
      size: descriptor.size,
      bytesFetched: fetched(),
      bytesRead: window.bytesRead,
      requests: window.requests,
      entries,
      tarBytes,
      compression,
      complete: !truncated,
      rangeIgnored: window.rangeIgnored,
    },
  };
}
