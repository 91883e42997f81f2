import { read } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createDigester, parseDigest } from '../digest/index.js';
import { DigestMismatchError } from '../errors/index.js';
import type { BodySink, SinkSource } from '../transport/body-sink.js';
import { closeBlobFile, type OpenedBlobFile } from './blob-file.js';

const readAsync = promisify(read);

/**
 * Bytes per read. The default 64 KiB meant a thread-pool round trip per 64 KiB of a layer;
 * 1 MiB is also what gunzip is fed at once (`compression/decompress.ts`).
 */
const READ_BYTES = 1 << 20;

/** What {@link BlobReadStream} reads. */
export interface BlobReadOptions {
  /** First byte (default 0). */
  start?: number;
  /** Last byte, inclusive (default: the end of the file as opened). */
  end?: number;
  /** Hash the bytes and fail before the end when they do not match this digest. */
  verify?: string;
  /** Called once the bytes read matched `verify` (the registry server remembers the file). */
  onVerified?: () => void;
  /**
   * A check of the file's digest made elsewhere (the registry server hashes a blob once
   * for all its first readers): awaited before the end, and its failure fails the stream
   * before the end, as `verify` does.
   */
  verified?: Promise<void>;
  /**
   * Leave the file open at the end: the caller reads it again (the registry server hashes
   * a blob whole before it serves a range of it) and closes it itself.
   */
  keepOpen?: boolean;
  /**
   * The size of the two buffers {@link BlobReadStream.pipeTo} reads into (default 1 MiB).
   * The registry server reads smaller pieces: it holds two per transfer in flight, for
   * many transfers at once.
   */
  pieceBytes?: number;
  signal?: AbortSignal;
}

/**
 * A blob file of a layout, read as a stream or handed to a sink ({@link SinkSource}).
 *
 * As a stream, each read is a new 1 MiB buffer (a reader may keep what it was given).
 * Through {@link pipeTo}, the file is read into two buffers reused for the whole blob:
 * one is read into while the sink works on the other. Fresh buffers for every read were
 * the largest part of the memory of serving or unpacking a layer from a layout: freed
 * buffers stay resident until the next garbage collection, ~100 MB for a 1 GiB blob.
 *
 * `opening` is the file (from `openBlobFile`), `undefined` for a missing blob, which
 * fails with `missing()`; the stream owns the file and closes it (unless `keepOpen`).
 * This is the one reader of layout blobs: the store, the image proxy and the registry
 * server all read through it.
 */
export class BlobReadStream extends Readable implements SinkSource {
  private file: OpenedBlobFile | undefined;
  private readonly opened: Promise<OpenedBlobFile>;
  private position: number;
  private readonly hash;
  private readonly expectedHex: string | undefined;
  private started = false;
  /** The read in progress: the file is closed only once it is done. */
  private reading: Promise<unknown> | undefined;

  constructor(
    opening: Promise<OpenedBlobFile | undefined>,
    missing: () => Error,
    private readonly options: BlobReadOptions = {},
  ) {
    super({ highWaterMark: READ_BYTES, signal: options.signal });
    this.position = options.start ?? 0;
    if (options.verify !== undefined) {
      const { algorithm, hex } = parseDigest(options.verify);
      this.hash = createDigester(algorithm);
      this.expectedHex = hex;
    }
    this.opened = opening.then((file) => {
      if (file === undefined) throw missing();
      if (this.destroyed) {
        void closeBlobFile(file.fd);
        throw new Error('the blob stream was destroyed');
      }
      this.file = file;
      return file;
    });
    // Failures surface where the stream is read (or piped to a sink), not unhandled.
    this.opened.catch(() => {});
  }

  /** One past the last byte to read. */
  private endOf(file: OpenedBlobFile): number {
    const { end } = this.options;
    return end === undefined ? file.size : Math.min(end + 1, file.size);
  }

  /** Read the next piece into `into`; an empty view at the end. */
  private async readInto(file: OpenedBlobFile, into: Buffer): Promise<Buffer> {
    const want = Math.min(into.length, this.endOf(file) - this.position);
    if (want <= 0) return into.subarray(0, 0);
    const reading = readAsync(file.fd, into, 0, want, this.position);
    this.reading = reading;
    const { bytesRead } = await reading;
    this.reading = undefined;
    this.position += bytesRead;
    const piece = into.subarray(0, bytesRead);
    this.hash?.update(piece);
    return piece;
  }

  /** A digest mismatch, once every byte was read; `undefined` when it matches or is not checked. */
  private verdict(): Error | undefined {
    if (this.hash === undefined) return undefined;
    const actual = this.hash.digest('hex');
    if (actual === this.expectedHex) {
      this.options.onVerified?.();
      return undefined;
    }
    const digest = this.options.verify!;
    return new DigestMismatchError(
      digest,
      `${digest.slice(0, digest.indexOf(':'))}:${actual}`,
      'blob',
    );
  }

  override _read(): void {
    this.started = true;
    this.opened
      .then(async (file) => {
        const piece = await this.readInto(file, Buffer.allocUnsafeSlow(READ_BYTES));
        if (this.destroyed) return;
        if (piece.length > 0) {
          this.push(piece.length === READ_BYTES ? piece : Buffer.from(piece));
          return;
        }
        await this.options.verified;
        const problem = this.verdict();
        if (problem) this.destroy(problem);
        else this.push(null);
      })
      .catch((err: unknown) => this.destroy(err as Error));
  }

  /**
   * Hand the blob (or the range) to `sink` through two reused buffers instead of reading
   * this stream. Resolves once every byte was handed over, verified when asked, and every
   * promise the sink returned settled; rejects with the first read, digest or sink error,
   * or the abort. Call at most once, and do not also read the stream.
   */
  async pipeTo(sink: BodySink): Promise<void> {
    if (this.started) throw new Error('the blob stream is already being read');
    this.started = true;
    const bytes = this.options.pieceBytes ?? READ_BYTES;
    const buffers = [Buffer.allocUnsafeSlow(bytes), Buffer.allocUnsafeSlow(bytes)];
    let inSink: Promise<void> | undefined;
    try {
      const file = await this.opened;
      for (let turn = 0; ; turn ^= 1) {
        if (this.destroyed) throw this.errored ?? new Error('the blob stream was destroyed');
        // The buffer read into now was handed to the sink two turns ago: awaited below.
        const piece = await this.readInto(file, buffers[turn]!);
        if (inSink) await inSink;
        inSink = undefined;
        if (piece.length === 0) break;
        inSink = sink(piece) ?? undefined;
        // Handled now (awaited next turn): a rejection while the next read runs is not
        // an unhandled one.
        inSink?.catch(() => {});
      }
      await this.options.verified;
      const problem = this.verdict();
      if (problem) throw problem;
    } finally {
      // Nothing may still be reading a buffer when this settles.
      await inSink?.catch(() => {});
      if (!this.destroyed) this.destroy();
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const file = this.file;
    this.file = undefined;
    if (file === undefined) {
      callback(err);
      return;
    }
    // Whoever closes the file next must not close it under a read still running.
    const reading = this.reading ?? Promise.resolve();
    reading
      .catch(() => {})
      .then(() => (this.options.keepOpen ? undefined : closeBlobFile(file.fd)))
      .then(() => callback(err));
  }
}
