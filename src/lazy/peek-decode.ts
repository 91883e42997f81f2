import { setImmediate as nextTurn } from 'node:timers/promises';
import { createGunzip, type Gunzip } from 'node:zlib';
import { type Compression, createZstdDecompressor } from '../compression/index.js';
import { zlibError as asDecompressionError } from '../compression/zlib-errors.js';

/** Options for {@link decodeWindow}. */
export interface DecodeWindowOptions {
  /**
   * Asked once the compressed input has ended: true when it ended at the blob's end (the
   * stream must then end cleanly), false when it ended at the window's edge (a cut-off
   * stream is expected and simply ends the output).
   */
  atBlobEnd: () => boolean;
  signal?: AbortSignal;
}

/** Largest compressed piece handed to gunzip at once: bounds the output of one step. */
const GZIP_PIECE = 16 * 1024;
const GUNZIP_CHUNK = 64 * 1024;

/**
 * Decompress a window of a layer's compressed bytes as far as they allow. One
 * decompressor lives for the whole window, so a window that grows costs only its new
 * bytes (never a restart). Compressed chunks are pulled from `input` only when the output
 * produced so far has been consumed, so the consumer's pace decides how far the window
 * grows. A stream cut off at the window's edge is not an error: the output just ends
 * there ("need more bytes"); at the blob's end the stream must be whole.
 */
export function decodeWindow(
  compression: Compression,
  input: AsyncIterator<Buffer>,
  options: DecodeWindowOptions,
): AsyncGenerator<Buffer, void, undefined> {
  if (compression === 'gzip') return gunzipWindow(input, options);
  if (compression === 'zstd') return zstdWindow(input, options);
  return plainWindow(input);
}

async function* plainWindow(input: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    for (let r = await input.next(); !r.done; r = await input.next()) yield r.value;
  } finally {
    await input.return?.();
  }
}

const zlibError = (err: Error) => asDecompressionError(err, 'gzip');

/** Write one piece and wait until zlib has processed it (its output is emitted by then). */
function writePiece(z: Gunzip, piece: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(zlibError(err));
    z.once('error', onError);
    z.write(piece, (err) => {
      z.off('error', onError);
      if (err) reject(zlibError(err));
      else resolve();
    });
  });
}

async function* gunzipWindow(
  input: AsyncIterator<Buffer>,
  options: DecodeWindowOptions,
): AsyncGenerator<Buffer> {
  // Z_SYNC_FLUSH: hand out every byte the input so far allows, without waiting for more.
  const z = createGunzip({ chunkSize: GUNZIP_CHUNK, flush: 2 });
  let out: Buffer[] = [];
  let ended = false;
  let failed: Error | undefined;
  // Flowing mode: output is collected as zlib emits it, so zlib never waits on us and a
  // write's callback means "this piece is fully decompressed".
  z.on('data', (chunk: Buffer) => out.push(chunk));
  z.on('end', () => {
    ended = true;
  });
  z.on('error', (err) => {
    failed ??= zlibError(err);
  });
  const drain = function* (): Generator<Buffer> {
    const ready = out;
    out = [];
    yield* ready;
  };
  try {
    for (let r = await input.next(); !r.done; r = await input.next()) {
      const chunk = r.value;
      for (let i = 0; i < chunk.length && !ended; i += GZIP_PIECE) {
        options.signal?.throwIfAborted();
        await writePiece(z, chunk.subarray(i, i + GZIP_PIECE));
        if (failed) throw failed;
        yield* drain();
      }
      if (ended) return; // bytes after the gzip stream: nothing more to list
    }
    if (options.atBlobEnd()) {
      const done = new Promise<void>((resolve, reject) => {
        z.once('end', resolve);
        z.once('error', (err) => reject(zlibError(err)));
      });
      z.end();
      if (!ended) await done;
    } else {
      await nextTurn(); // any output emitted after the last callback
    }
    if (failed) throw failed;
    yield* drain();
  } finally {
    z.destroy();
    await input.return?.();
  }
}

/**
 * The zstd decompressor pulled from as the consumer reads: it steps only while its output
 * is wanted (bounded memory, a zstd bomb decodes no further than it is read), and the
 * window is fed one chunk at a time once the previous one has been used up.
 */
async function* zstdWindow(
  input: AsyncIterator<Buffer>,
  options: DecodeWindowOptions,
): AsyncGenerator<Buffer> {
  const zstd = createZstdDecompressor();
  let failure: Error | undefined;
  let ended = false;
  let inputDone = false;
  let feeding = false;
  /** Chunks written whose bytes the decoder has not used up yet. */
  let unused = 0;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  zstd.on('readable', poke);
  zstd.on('end', () => {
    ended = true;
    poke();
  });
  zstd.on('error', (err) => {
    failure ??= err;
    poke();
  });
  const onAbort = () => poke();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const feed = async () => {
    feeding = true;
    try {
      const r = await input.next();
      if (!r.done) {
        unused++;
        zstd.write(r.value, () => {
          unused--;
          poke();
        });
      } else {
        inputDone = true;
        // Only a whole blob must end on a frame boundary; a window cut off mid-frame just
        // ends its output once everything written has been decoded.
        if (options.atBlobEnd()) zstd.end();
      }
    } catch (err) {
      failure ??= err as Error;
    } finally {
      feeding = false;
      poke();
    }
  };

  try {
    for (;;) {
      options.signal?.throwIfAborted();
      if (failure) throw failure;
      const chunk: Buffer | null = zstd.read();
      if (chunk) {
        yield chunk;
        continue;
      }
      if (ended) break;
      if (inputDone && unused === 0 && !options.atBlobEnd()) break;
      if (!inputDone && !feeding && unused === 0) void feed();
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    zstd.destroy();
    // A pull may be in flight (the body will be destroyed by the window when it settles).
    if (feeding) void input.return?.().catch(() => {});
    else await input.return?.();
  }
}
