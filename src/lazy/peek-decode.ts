import { spawn } from 'node:child_process';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createGunzip, type Gunzip } from 'node:zlib';
import type { Compression } from '../compression/index.js';
import { DecompressionError, UnsupportedError } from '../errors/index.js';

/** Options for {@link decodeWindow}. */
export interface DecodeWindowOptions {
  /**
   * Asked once the compressed input has ended: true when it ended at the blob's end (the
   * stream must then end cleanly), false when it ended at the window's edge (a cut-off
   * stream is expected and simply ends the output).
   */
  atBlobEnd: () => boolean;
  /** zstd executable; default `zstd`. */
  zstdCommand?: string;
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

function zlibError(err: Error): Error {
  return /^Z_/.test(String((err as NodeJS.ErrnoException).code))
    ? new DecompressionError('gzip', err.message, { cause: err })
    : err;
}

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

/** Pause zstd's output beyond this many buffered bytes (a zstd bomb guard). */
const ZSTD_BUFFER = 4 * 1024 * 1024;

async function* zstdWindow(
  input: AsyncIterator<Buffer>,
  options: DecodeWindowOptions,
): AsyncGenerator<Buffer> {
  const command = options.zstdCommand ?? 'zstd';
  const child = spawn(command, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let buffered = 0;
  let exit: { code: number | null } | undefined;
  let failure: Error | undefined;
  let stderr = '';
  let inputDone = false;
  let feeding = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  child.stdout.on('data', (chunk: Buffer) => {
    out.push(chunk);
    buffered += chunk.length;
    if (buffered > ZSTD_BUFFER) child.stdout.pause();
    poke();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < 4096) stderr += text;
  });
  child.stdin.on('error', () => {}); // EPIPE when zstd quits on bad input: its exit tells
  child.on('error', (err: NodeJS.ErrnoException) => {
    failure ??=
      err.code === 'ENOENT'
        ? new UnsupportedError(`zstd layers need the '${command}' command (Debian package zstd)`)
        : new DecompressionError('zstd', err.message, { cause: err });
    exit ??= { code: null };
    poke();
  });
  child.on('close', (code) => {
    exit ??= { code };
    poke();
  });
  const onAbort = () => poke();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  // zstd gives no "I need more input" signal, so the window is fed whenever the consumer
  // waits on an empty output: the input runs ahead of need by about one zstd block.
  const feed = async () => {
    feeding = true;
    try {
      const r = await input.next();
      if (r.done) {
        inputDone = true;
        child.stdin.end();
      } else if (!child.stdin.write(r.value)) {
        await new Promise<void>((resolve) => {
          child.stdin.once('drain', resolve);
          child.once('close', resolve);
        });
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
      const chunk = out.shift();
      if (chunk) {
        buffered -= chunk.length;
        if (buffered < ZSTD_BUFFER / 2) child.stdout.resume();
        yield chunk;
        continue;
      }
      if (exit) break;
      if (!inputDone && !feeding) void feed();
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    if (failure) throw failure;
    // A non-zero exit is expected when the window was cut off mid-frame (zstd says
    // "premature end"); it is an error only when the whole blob was given.
    if (exit.code !== 0 && (!inputDone || options.atBlobEnd())) {
      const detail = stderr
        .trim()
        .split('\n')
        .pop()
        ?.replace(/^zstd: /, '');
      throw new DecompressionError('zstd', detail || `exit ${exit.code}`);
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (!exit) child.kill('SIGKILL');
    child.stdout.destroy();
    child.stdin.destroy();
    // A pull may be in flight (the body will be destroyed by the window when it settles).
    if (feeding) void input.return?.().catch(() => {});
    else await input.return?.();
  }
}
