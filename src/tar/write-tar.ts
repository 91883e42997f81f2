import { SizeMismatchError } from '../errors/index.js';
import { escapeName } from './name-codec.js';
import { encodeTarHeader, TAR_END, type TarHeaderFields, tarPadding } from './write-header.js';

/** One member of an archive {@link packTar} writes. */
export interface TarWriteEntry {
  /** Header fields; `header.size` is the body's length for a regular file (else ignored). */
  header: TarHeaderFields;
  /**
   * A regular file's content: bytes, or chunks read one at a time as the archive is
   * consumed (a file's read stream). Must hold exactly `header.size` bytes.
   */
  body?: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

/** Options of {@link packTar}. */
export interface PackTarOptions {
  signal?: AbortSignal;
}

/** Bodies up to this size go out in one chunk with their header and padding. */
const SMALL_BODY = 64 * 1024;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * The bytes of a tar archive holding `entries`, in order, as chunks to pipe somewhere:
 * each header (with a PAX header where ustar is not enough, see {@link encodeTarHeader}),
 * the body, its padding, and the end-of-archive marker. Nothing is read ahead: a streamed
 * body is pulled one chunk at a time as the consumer asks for the next, so memory stays
 * bounded whatever the sizes. A body that is longer or shorter than its header says (a
 * file that changed while being archived) fails with {@link SizeMismatchError}.
 *
 * @example
 * await pipeline(packTar(entries), createWriteStream('out.tar'));
 */
export async function* packTar(
  entries: AsyncIterable<TarWriteEntry> | Iterable<TarWriteEntry>,
  options: PackTarOptions = {},
): AsyncGenerator<Buffer, void, undefined> {
  for await (const { header, body } of entries) {
    options.signal?.throwIfAborted();
    const size = header.type === 'file' ? header.size : 0;
    const head = encodeTarHeader(header);
    if (body === undefined || body instanceof Uint8Array) {
      const bytes = body ?? Buffer.alloc(0);
      if (bytes.length !== size) throw mismatch(header, size, bytes.length);
      // One chunk for the common small file: three writes of a few hundred bytes cost more
      // than the copy.
      if (size <= SMALL_BODY) yield Buffer.concat([head, asBuffer(bytes), tarPadding(size)]);
      else {
        yield head;
        yield asBuffer(bytes);
        yield tarPadding(size);
      }
      continue;
    }
    yield head;
    let written = 0;
    for await (const chunk of body) {
      written += chunk.length;
      if (written > size) throw mismatch(header, size, written);
      if (chunk.length > 0) yield asBuffer(chunk);
      options.signal?.throwIfAborted();
    }
    if (written !== size) throw mismatch(header, size, written);
    const pad = tarPadding(size);
    if (pad.length > 0) yield pad;
  }
  yield TAR_END;
}

function mismatch(header: TarHeaderFields, expected: number, actual: number): SizeMismatchError {
  return new SizeMismatchError(`tar entry ${escapeName(header.path)}`, expected, actual);
}

/** {@link packTar} of entries whose bodies are all in memory, as one buffer. */
export async function packTarBuffer(
  entries: Iterable<TarWriteEntry>,
  options: PackTarOptions = {},
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of packTar(entries, options)) parts.push(chunk);
  return Buffer.concat(parts);
}
