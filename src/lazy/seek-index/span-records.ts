import { digestOf } from '../../digest/index.js';
import { LazyLayerError } from '../../errors/index.js';
import type { BlobRangeSource } from '../range-source.js';
import { readCachedFile, writeCachedFile } from './cache-files.js';
import { decodeSpanRecord, type LayerSeekIndex, type SpanRecord } from './seek-index-format.js';

/**
 * The records of one layer's seek index, read by range from its records blob: checkpoints
 * `from` to `to` in one request (their records lie back to back), each record checked
 * against the digest the table gives it before it is decoded. With `cacheDir`, records
 * read once are kept there by digest and read from there the next time.
 */
export class SpanRecords {
  constructor(
    private readonly index: LayerSeekIndex,
    /** The records blob. */
    readonly source: BlobRangeSource,
    private readonly cacheDir?: string,
  ) {}

  /** The records of checkpoints `from` to `to` (inclusive), verified and decoded. */
  async read(from: number, to: number, signal?: AbortSignal): Promise<SpanRecord[]> {
    const cps = this.index.checkpoints.slice(from, to + 1);
    const cached = await Promise.all(cps.map((cp) => this.cached(cp.record.digest)));
    let fetched: Buffer | undefined;
    const missing = cps.filter((_, i) => !cached[i]);
    if (missing.length > 0) {
      const start = missing[0]!.record.offset;
      const last = missing.at(-1)!.record;
      fetched = await this.source.read(start, last.offset + last.size, { signal });
    }
    const records: SpanRecord[] = [];
    for (const [i, cp] of cps.entries()) {
      const at = from + i;
      let bytes = cached[i];
      if (!bytes) {
        const start = cp.record.offset - missing[0]!.record.offset;
        bytes = fetched!.subarray(start, start + cp.record.size);
        if (digestOf(bytes, 'sha256') !== cp.record.digest) {
          throw new LazyLayerError(
            this.source.description,
            'seek-index',
            `seek index: record ${at} does not match its digest ${cp.record.digest}`,
          );
        }
        await this.keep(cp.record.digest, bytes);
      }
      const next = this.index.checkpoints[at + 1];
      const end = next ?? { bit: this.index.deflateEnd * 8, out: this.index.size };
      records.push(decodeSpanRecord(bytes, this.source.description, at, cp, end));
    }
    return records;
  }

  private cached(digest: string): Promise<Buffer | undefined> {
    return readCachedFile(this.cacheDir, digest);
  }

  private keep(digest: string, bytes: Buffer): Promise<void> {
    return writeCachedFile(this.cacheDir, digest, bytes);
  }
}
