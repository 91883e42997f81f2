import { type Duplex, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DecompressionError, isOcipeekError } from '../errors/index.js';
import { Coalesce } from './coalesce.js';
import { DecompressionLimit } from './decompression-limit.js';
import {
  type Compression,
  compressionOfMediaType,
  detectCompression,
  MAGIC_LENGTH,
} from './detect.js';
import { withDecompressionErrors } from './zlib-errors.js';
import { createZstdDecompressor } from './zstd-decompressor.js';

/** Options for {@link decompressStream}. */
export interface DecompressOptions {
  /** The layer's media type; a hint only, the magic bytes win when they disagree. */
  mediaType?: string;
  /** Fail with `TooLargeError` once the output exceeds this many bytes (bomb guard). */
  maxOutputBytes?: number;
  /** What a `TooLargeError` names; default `decompressed data`. */
  what?: string;
  /** Called once with what the bytes are and what the media type claimed. */
  onDetect?: (detected: Compression, declared: Compression | undefined) => void;
  /** Aborts the whole chain (source and decompressor). */
  signal?: AbortSignal;
}

/**
 * gzip input is gathered into 1 MiB pieces and inflated into 1 MiB of output room: every
 * zlib call is a round trip to the thread pool, and fewer, larger ones measured faster
 * than zlib's default 16 KiB or 64 KiB (see {@link Coalesce}).
 */
const GUNZIP_CHUNK = 1024 * 1024;

/** A gunzip stream whose own errors (corrupt data, unexpected end of file) are DecompressionErrors. */
function gunzip(): Duplex {
  return withDecompressionErrors(createGunzip({ chunkSize: GUNZIP_CHUNK }), 'gzip');
}

/**
 * Wait until `source` has `n` bytes buffered (or ends), take them and put them back with
 * `unshift`, so the caller can look at the first bytes without consuming them. Returns the
 * stream to read from afterwards (the source itself, unless it already ended).
 */
async function peek(
  source: Readable,
  n: number,
  signal?: AbortSignal,
): Promise<{ head: Buffer; stream: Readable }> {
  const parts: Buffer[] = [];
  let length = 0;
  let ended = false;
  const onEnd = () => {
    ended = true;
  };
  source.once('end', onEnd);
  try {
    while (length < n && !ended) {
      signal?.throwIfAborted();
      if (source.destroyed) throw source.errored ?? new Error('source stream was destroyed');
      const chunk: Buffer | string | null = source.read();
      if (chunk !== null) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
        parts.push(buf);
        length += buf.length;
        continue;
      }
      if (source.readableEnded) break;
      await new Promise<void>((resolve, reject) => {
        const cleanup = () => {
          source.off('readable', onReadable);
          source.off('end', onReadable);
          source.off('error', onError);
          signal?.removeEventListener('abort', onAbort);
        };
        const onReadable = () => {
          cleanup();
          resolve();
        };
        const onError = (err: Error) => {
          cleanup();
          reject(err);
        };
        const onAbort = () => {
          cleanup();
          reject(signal?.reason);
        };
        source.on('readable', onReadable);
        source.on('end', onReadable);
        source.on('error', onError);
        signal?.addEventListener('abort', onAbort);
      });
    }
  } finally {
    source.off('end', onEnd);
  }
  const head = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  // unshift after 'end' is silently dropped: a source shorter than the magic has ended,
  // so its few bytes go on in a stream of their own.
  if (ended || source.readableEnded) return { head, stream: Readable.from([head]) };
  if (head.length > 0) source.unshift(head);
  return { head, stream: source };
}

/**
 * Wire `stages` (source first) into one chain whose last stage is returned. Unlike
 * `stream.pipeline`, decompressor errors are turned into {@link DecompressionError} before
 * the consumer sees them, and a consumer that destroys the output early tears down every
 * stage without reporting that as an error upstream.
 */
function chain(
  source: Readable,
  stages: Duplex[],
  decompressor: Duplex | undefined,
  compression: Compression,
  signal?: AbortSignal,
): Readable {
  const all: (Readable | Duplex)[] = [source, ...stages];
  const out = all[all.length - 1]!;
  let failed = false;
  const fail = (err: unknown, fromDecompressor: boolean) => {
    if (failed) return;
    failed = true;
    const wrapped =
      fromDecompressor && !isOcipeekError(err) && err instanceof Error
        ? new DecompressionError(compression, err.message, { cause: err })
        : (err as Error);
    for (const s of all) if (s !== out && !s.destroyed) s.destroy();
    if (!out.destroyed) out.destroy(wrapped);
  };
  for (let i = 0; i < all.length; i++) {
    const s = all[i]!;
    if (s !== out) s.on('error', (err) => fail(err, s === decompressor));
    const next = all[i + 1];
    if (next) s.pipe(next as Duplex);
  }
  out.once('close', () => {
    for (const s of all) if (s !== out && !s.destroyed) s.destroy();
  });
  if (signal) {
    const onAbort = () => fail(signal.reason, false);
    signal.addEventListener('abort', onAbort, { once: true });
    out.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return out;
}

/**
 * Turn a layer's bytes into its uncompressed tar stream.
 *
 * The first bytes are peeked and decide the format (gzip `1f 8b`, zstd `28 b5 2f fd`,
 * otherwise uncompressed); a media type that says otherwise is overruled, since the bytes
 * are what they are. gzip goes through `zlib.createGunzip()`, which also reads
 * concatenated members (eStargz layers are thousands of them); zstd is decompressed in
 * process (see {@link createZstdDecompressor}). Errors of the compressed data arrive on the
 * returned stream as {@link DecompressionError}, source errors unchanged.
 */
export async function decompressStream(
  source: Readable | AsyncIterable<Uint8Array>,
  options: DecompressOptions = {},
): Promise<Readable> {
  const { signal } = options;
  signal?.throwIfAborted();
  const input = source instanceof Readable ? source : Readable.from(source, { objectMode: false });
  let head: Buffer;
  let stream: Readable;
  try {
    ({ head, stream } = await peek(input, MAGIC_LENGTH, signal));
  } catch (err) {
    input.destroy();
    throw err;
  }
  const detected = detectCompression(head);
  const declared = options.mediaType ? compressionOfMediaType(options.mediaType) : undefined;
  options.onDetect?.(detected, declared);
  const stages: Duplex[] = [];
  let decompressor: Duplex | undefined;
  if (detected === 'gzip') {
    decompressor = gunzip();
    stages.push(new Coalesce(GUNZIP_CHUNK), decompressor);
  } else if (detected === 'zstd') {
    decompressor = createZstdDecompressor();
    stages.push(decompressor);
  }
  if (options.maxOutputBytes !== undefined) {
    stages.push(new DecompressionLimit(options.maxOutputBytes, options.what));
  }
  if (stages.length === 0 && !signal) return stream;
  return chain(stream, stages, decompressor, detected, signal);
}
