import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { inflateRawSync } from 'node:zlib';
import { LazyLayerError } from '../../errors/index.js';
import { readTarEntries, type TarEntry } from '../../tar/index.js';
import type { LazyEntry } from '../lazy-entry.js';
import { type LazyOpenOptions, TocLayer } from '../lazy-layer.js';
import type { BlobRangeSource } from '../range-source.js';
import { InflateFailure, inflateRange, WINDOW_SIZE } from './raw-inflate.js';
import type { LayerSeekIndex } from './seek-index-format.js';
import type { SpanRecords } from './span-records.js';

/**
 * Spans read with one range request at most, in uncompressed bytes: a small file costs
 * the distance from its checkpoint to the piece holding its end, one request; a large one
 * is read in pieces of about this size.
 */
const MAX_READ = 16 * 1024 * 1024;

/**
 * A gzip layer read through its seek index: the entries come from the index's table, and
 * a file's bytes from the spans it lies in: its checkpoint's record (window and piece
 * digests) from the records blob, then the compressed bytes from the checkpoint to the
 * piece holding the file's end, each fetched by range, inflated from the checkpoint and
 * checked piece by piece before any byte of it is handed out.
 */
export class IndexedLayer extends TocLayer {
  constructor(
    source: BlobRangeSource,
    private readonly index: LayerSeekIndex,
    indexDigest: string,
    private readonly records: SpanRecords,
  ) {
    super('seek-index', 'gzip', source, {
      entries: index.entries.map(
        (e, i): LazyEntry => ({ ...e, headerOffset: i, dataOffset: -1, chunks: [] }),
      ),
      tocDigest: indexDigest,
      tocVerified: true,
      prefetch: { landmark: 'absent', files: [] },
    });
  }

  override openEntry(entry: LazyEntry, options: LazyOpenOptions = {}): Readable {
    const tar = this.index.entries[entry.headerOffset];
    if (tar === undefined || tar.path !== entry.path) {
      throw new LazyLayerError(this.source.description, 'not-found', `${entry.path}: not indexed`);
    }
    return Readable.from(this.content(tar, options.signal), { objectMode: false });
  }

  /** The file's content, span group by span group, each verified before it is yielded. */
  private async *content(tar: TarEntry, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
    if (tar.type !== 'file' && tar.type !== 'hardlink') {
      throw new LazyLayerError(this.source.description, 'seek-index', `${tar.path} is no file`);
    }
    if (tar.sparse) {
      throw new LazyLayerError(
        this.source.description,
        'seek-index',
        `${tar.path} is a sparse file, which the seek index cannot read`,
      );
    }
    const cps = this.index.checkpoints;
    const end = tar.dataOffset + tar.size;
    let at = tar.headerOffset;
    /** The header's bytes while they are gathered (a member may start inside them). */
    let header: Buffer[] | undefined = [];
    while (header || at < end) {
      const from = this.spanAt(at);
      let to = from;
      const startOut = cps[from]!.out;
      // Whole spans up to MAX_READ, never into the next gzip member (a stream of its own);
      // the first read reaches the content's start if it can.
      while (to + 1 < cps.length && !cps[to + 1]!.member) {
        const nextOut = cps[to + 1]!.out;
        if (
          nextOut >= end ||
          (nextOut - startOut >= MAX_READ && !(header && nextOut <= tar.dataOffset))
        ) {
          break;
        }
        to++;
      }
      const bytes = await this.readSpans(from, to, Math.max(end, at + 1), signal);
      const readEnd = startOut + bytes.length;
      if (readEnd <= at) {
        throw new LazyLayerError(
          this.source.description,
          'seek-index',
          `the seek index gives no bytes at ${at} for ${tar.path}`,
        );
      }
      if (header) {
        header.push(bytes.subarray(at - startOut));
        if (readEnd < tar.dataOffset) {
          at = readEnd;
          continue;
        }
        await this.checkHeader(tar, Buffer.concat(header));
        header = undefined;
        at = tar.dataOffset;
      }
      if (tar.size === 0) return;
      const piece = bytes.subarray(at - startOut, Math.min(end, readEnd) - startOut);
      yield piece;
      at += piece.length;
    }
  }

  /** The output offset where the gzip member holding checkpoint `at` starts. */
  private memberStart(at: number): number {
    const cps = this.index.checkpoints;
    let i = at;
    while (i > 0 && !cps[i]!.member) i--;
    return i === 0 ? 0 : cps[i]!.out;
  }

  /** The span holding uncompressed offset `at` (the last whose checkpoint is at or before). */
  private spanAt(at: number): number {
    const cps = this.index.checkpoints;
    let lo = 0;
    let hi = cps.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (cps[mid]!.out <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * The output of spans `from` to `to`, up to the end of the piece holding `wantEnd - 1`
   * (or the end of span `to`, when `wantEnd` lies past it): one request for their records,
   * one for the compressed bytes, inflated from `from`'s checkpoint and each piece checked
   * against its digest. Anything the index got wrong (bit, window, offsets, digests) fails
   * here with a `LazyLayerError`, never as bytes.
   */
  private async readSpans(
    from: number,
    to: number,
    wantEnd: number,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    const cp = this.index.checkpoints[from]!;
    const records = await this.records.read(from, to, signal);
    const pieces = records.flatMap((r) => r.pieces);
    const lastIndex = pieces.findIndex((p) => p.out >= wantEnd);
    const wanted = lastIndex === -1 ? pieces : pieces.slice(0, lastIndex + 1);
    const stop = wanted.at(-1)!;
    const lie = (why: string, cause?: unknown) =>
      new LazyLayerError(
        this.source.description,
        'span-digest',
        `the seek index does not match the layer at span ${from}: ${why}`,
        { cause },
      );
    let window: Buffer;
    try {
      window = records[0]!.window.length > 0 ? inflateRawSync(records[0]!.window) : Buffer.alloc(0);
    } catch (err) {
      throw lie('its window is not raw deflate', err);
    }
    if (window.length !== Math.min(cp.out - this.memberStart(from), WINDOW_SIZE)) {
      throw lie('its window has the wrong size');
    }
    const endByte = Math.min(Math.ceil(stop.bit / 8), this.index.deflateEnd);
    const compressed = await this.source.read(Math.floor(cp.bit / 8), endByte, { signal });
    let out: Buffer;
    try {
      out = inflateRange(compressed, { bitShift: cp.bit % 8, window }, stop.out - cp.out);
    } catch (err) {
      if (err instanceof InflateFailure) throw lie(err.message, err);
      throw err;
    }
    let a = 0;
    for (const [i, p] of wanted.entries()) {
      const b = p.out - cp.out;
      const digest = `sha256:${createHash('sha256').update(out.subarray(a, b)).digest('hex')}`;
      if (digest !== p.digest) {
        // The same words as any other lie of the index: which check catches a misplaced
        // checkpoint (inflate fails, or inflates to other bytes) depends on the layer's bytes.
        throw lie(`piece ${i} inflates to ${digest}, the seek index says ${p.digest}`);
      }
      a = b;
    }
    return out;
  }

  /**
   * The tar header the index places before the content must be there and name this entry:
   * verified span bytes at wrong offsets would otherwise be another file's bytes.
   */
  private async checkHeader(tar: TarEntry, bytes: Buffer): Promise<void> {
    let found: TarEntry | undefined;
    try {
      for await (const e of readTarEntries(Readable.from([bytes], { objectMode: false }))) {
        found = e;
        break;
      }
    } catch {
      // Reported below: no entry there.
    }
    const at = found && found.dataOffset + tar.headerOffset;
    if (
      !found ||
      found.path !== tar.path ||
      found.size !== tar.size ||
      found.type !== tar.type ||
      at !== tar.dataOffset
    ) {
      throw new LazyLayerError(
        this.source.description,
        'seek-index',
        `the seek index places ${tar.path} at ${tar.dataOffset}, but the layer has ${
          found ? `${found.path} (${found.size} bytes) there` : 'no tar header there'
        }`,
      );
    }
  }
}
