import { createHash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { DecompressionError, InvalidArgumentError, UnsupportedError } from '../../errors/index.js';
import { scanTarEntries, type TarEntry } from '../../tar/index.js';
import { BlockInflater, InflateFailure } from './raw-inflate.js';
import { DEFAULT_SPAN, type LayerSeekIndex, type SeekCheckpoint } from './seek-index-format.js';

/** Options of {@link buildLayerSeekIndex}. */
export interface BuildLayerSeekIndexOptions {
  /** Uncompressed bytes between checkpoints, at least (default 4 MiB). */
  span?: number;
  signal?: AbortSignal;
}

/** The smallest span accepted: below it the windows would outweigh the spans. */
const MIN_SPAN = 64 * 1024;

/**
 * Build the seek index of one gzip layer from its compressed bytes, read once: the
 * inflater stops at every deflate block boundary, a checkpoint is taken at the first one
 * at least `span` bytes after the last, each span's output is hashed as it passes, and the
 * tar headers are scanned from the same output. `layer` is what the bytes were verified
 * against (the caller streams them through a verifying reader).
 */
export async function buildLayerSeekIndex(
  compressed: AsyncIterable<Uint8Array>,
  layer: { digest: string; size: number },
  options: BuildLayerSeekIndexOptions = {},
): Promise<LayerSeekIndex> {
  const span = options.span ?? DEFAULT_SPAN;
  if (!Number.isSafeInteger(span) || span < MIN_SPAN) {
    throw new InvalidArgumentError(`span must be at least ${MIN_SPAN} bytes, got ${span}`);
  }
  const checkpoints: SeekCheckpoint[] = [];
  let hash = createHash('sha256');
  let pending: Uint8Array[] = [];
  const closeSpan = () => {
    const last = checkpoints.at(-1);
    if (last) last.digest = `sha256:${hash.digest('hex')}`;
    hash = createHash('sha256');
  };
  const inflater = new BlockInflater(
    { wrapper: 'gzip' },
    (piece) => {
      hash.update(piece);
      pending.push(piece);
    },
    (at, window) => {
      const last = checkpoints.at(-1);
      if (last && at.out - last.out < span) return;
      if (last && at.out === last.out) return;
      closeSpan();
      const w = window();
      checkpoints.push({
        bit: at.bit,
        out: at.out,
        window: w.length > 0 ? deflateRawSync(w) : Buffer.alloc(0),
        digest: '',
      });
    },
  );
  let consumed = 0;
  async function* uncompressed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of compressed) {
      options.signal?.throwIfAborted();
      if (inflater.done) {
        if (chunk.some((b) => b !== 0)) throw multiMember(layer.digest);
        continue;
      }
      let used: number;
      try {
        used = inflater.write(chunk);
      } catch (err) {
        if (err instanceof InflateFailure) {
          throw new DecompressionError('gzip', `layer ${layer.digest}: ${err.message}`, {
            cause: err,
          });
        }
        throw err;
      }
      consumed += used;
      if (inflater.done && chunk.subarray(used).some((b) => b !== 0)) {
        throw multiMember(layer.digest);
      }
      const out = pending;
      pending = [];
      yield* out;
    }
    if (!inflater.done) {
      throw new DecompressionError('gzip', `layer ${layer.digest}: the stream ends early`);
    }
  }
  const entries: TarEntry[] = [];
  await scanTarEntries(uncompressed(), (e) => entries.push({ ...e }), {
    signal: options.signal,
  });
  closeSpan();
  if (checkpoints.length === 0) {
    throw new DecompressionError('gzip', `layer ${layer.digest}: no deflate data`);
  }
  // The member's last 8 bytes are its trailer: the deflate data ends before them.
  return {
    layer: { digest: layer.digest, size: layer.size },
    span,
    size: inflater.produced,
    deflateEnd: consumed - 8,
    checkpoints,
    entries,
  };
}

function multiMember(digest: string): UnsupportedError {
  return new UnsupportedError(
    `layer ${digest} is several gzip members; the seek index takes single-member layers only`,
  );
}
