import type { Readable } from 'node:stream';
import { InvalidTarError } from '../errors/index.js';
import { buildEntry, type PendingMeta } from './build-entry.js';
import { ChunkReader } from './chunk-reader.js';
import { checkHeader, parseNumeric, parseString } from './fields.js';
import { parsePax } from './pax.js';
import type { ReadTarOptions, TarEntry, TarRecord } from './types.js';

/*
 * Why our own scanner instead of a library such as tar-stream (kept as a test peer):
 * names are bytes (`name-codec.ts`), which a reader handing out UTF-8 strings loses; and
 * listing an image needs (1) the offset of every entry's header and content in
 * the uncompressed stream, for the fs index and for seeking later; (2) content nobody
 * reads skipped by moving a cursor, not pushed through a stream per entry; (3) speed —
 * listing must stay within 1.2x of bare gunzip, so headers are parsed in place inside the
 * decompressor's chunks and the hot path allocates nothing but the entry itself.
 * tar-stream offers neither offsets nor cheap skipping (every body is a stream that must be
 * drained through its event machinery).
 */

const DEFAULT_MAX_META = 16 * 1024 * 1024;

function pad(n: number): number {
  return (512 - (n % 512)) % 512;
}

class ScannedRecord implements TarRecord {
  constructor(
    readonly entry: TarEntry,
    private readonly scanner: TarScanner,
    private readonly generation: number,
  ) {}

  readBody(): AsyncIterable<Buffer> {
    return this.scanner.body(this.generation);
  }

  bufferedBody(): Buffer | undefined {
    return this.scanner.bufferedBody(this.generation);
  }
}

class TarScanner {
  private readonly r: ChunkReader;
  private readonly maxMeta: number;
  private readonly normalize: boolean;
  private generation = 0;
  /** Body bytes of the current entry not yet read or skipped. */
  private bodyLeft = 0;

  constructor(
    source: AsyncIterable<Uint8Array> | Readable,
    private readonly options: ReadTarOptions,
  ) {
    this.r = new ChunkReader(source[Symbol.asyncIterator](), options.signal);
    this.maxMeta = options.maxMetaSize ?? DEFAULT_MAX_META;
    this.normalize = options.rawNames !== true;
  }

  async *body(generation: number): AsyncGenerator<Buffer, void, undefined> {
    const r = this.r;
    while (this.bodyLeft > 0) {
      if (generation !== this.generation) {
        throw new Error('tar entry body read after the iteration moved to the next entry');
      }
      if (r.pos === r.buf.length && !(await r.load())) throw r.truncated('file content');
      const n = Math.min(r.buf.length - r.pos, this.bodyLeft);
      const chunk = r.buf.subarray(r.pos, r.pos + n);
      r.pos += n;
      this.bodyLeft -= n;
      yield chunk;
    }
  }

  /** The rest of the current body when the current chunk holds all of it (no copy). */
  bufferedBody(generation: number): Buffer | undefined {
    if (generation !== this.generation) {
      throw new Error('tar entry body read after the iteration moved to the next entry');
    }
    const r = this.r;
    if (r.buf.length - r.pos < this.bodyLeft) return undefined;
    const chunk = r.buf.subarray(r.pos, r.pos + this.bodyLeft);
    r.pos += this.bodyLeft;
    this.bodyLeft = 0;
    return chunk;
  }

  private async meta(size: number, what: string, at: number): Promise<Buffer> {
    if (size > this.maxMeta) {
      throw new InvalidTarError(`${what} of ${size} bytes exceeds ${this.maxMeta}`, at);
    }
    const body = await this.r.read(size, what);
    await this.r.skip(pad(size), what);
    return body;
  }

  /**
   * Scan the archive. With `sink`, entries go to it as their headers are parsed and every
   * body is skipped; with `onRecord`, each record goes to it and its body can be read
   * until the handler returns (or its promise settles). Either way nothing is yielded, so
   * the loop awaits only when a chunk runs out or the handler asks it to.
   */
  async *run(
    sink?: (entry: TarEntry) => void,
    onRecord?: (record: TarRecord) => Promise<void> | undefined,
  ): AsyncGenerator<TarRecord, void, undefined> {
    const r = this.r;
    const meta: PendingMeta = {};
    let entryStart = -1;
    let completed = false;
    try {
      for (;;) {
        const at = r.offset;
        let buf: Buffer;
        let off: number;
        if (r.buf.length - r.pos >= 512) {
          buf = r.buf;
          off = r.pos;
          r.pos += 512;
        } else if (await r.readBlock()) {
          buf = r.blockBuf;
          off = r.blockOff;
        } else {
          const pending = entryStart >= 0;
          if (!pending && (at === 0 || this.options.allowMissingEnd)) break;
          throw new InvalidTarError(
            pending
              ? 'archive ends after an extension header'
              : 'archive ends without the end-of-archive marker (truncated)',
            at,
          );
        }
        if (!checkHeader(buf, off, at)) {
          if (entryStart >= 0)
            throw new InvalidTarError('end of archive after an extension header', at);
          await this.expectSecondZeroBlock(at + 512);
          break;
        }
        if (entryStart < 0) entryStart = at;
        const flag = buf[off + 156]!;
        if (flag === 0x78 || flag === 0x67 || flag === 0x4c || flag === 0x4b || flag === 0x56) {
          await this.extension(flag, buf, off, at, meta);
          if (flag === 0x67 || flag === 0x56) entryStart = -1;
          continue;
        }
        const built = buildEntry(buf, off, at, entryStart, meta, this.normalize);
        if (built.sparseExtended) await this.skipSparseExtensions();
        built.entry.dataOffset = r.offset;
        meta.pax = undefined;
        meta.longName = undefined;
        meta.longLink = undefined;
        entryStart = -1;
        if (sink) {
          sink(built.entry);
          const n = built.stored + pad(built.stored);
          if (r.buf.length - r.pos >= n) r.pos += n;
          else await r.skip(n, 'file content');
          continue;
        }
        // Hand on or yield, then step over whatever of the body the consumer left (inlined:
        // this is the per-entry hot path, a delegated generator would cost an object per
        // entry).
        this.bodyLeft = built.stored;
        const generation = ++this.generation;
        const record = new ScannedRecord(built.entry, this, generation);
        if (onRecord) {
          const pending = onRecord(record);
          if (pending) await pending;
        } else yield record;
        this.generation++;
        const n = this.bodyLeft + pad(built.stored);
        this.bodyLeft = 0;
        if (r.buf.length - r.pos >= n) r.pos += n;
        else await r.skip(n, 'file content');
      }
      if (this.options.drain !== false) await r.drain();
      completed = true;
    } finally {
      this.generation++;
      if (!completed) await r.cancel();
    }
  }

  /** Read a PAX (`x`, `g`), GNU long name/link (`L`, `K`) or volume label (`V`) header. */
  private async extension(flag: number, buf: Buffer, off: number, at: number, meta: PendingMeta) {
    // Parse the size before reading on: the header may live in the reused scratch block.
    const stored = parseNumeric(buf, off + 124, 12, 'size', at);
    if (flag === 0x56) {
      await this.r.skip(stored + pad(stored), 'volume label');
      return;
    }
    const what =
      flag === 0x78 || flag === 0x67
        ? 'PAX header'
        : flag === 0x4c
          ? 'GNU long name'
          : 'GNU long link';
    const body = await this.meta(stored, what, at);
    if (flag === 0x78) meta.pax = parsePax(body, at, meta.pax);
    // A global header is checked, then applied to nothing: Go's archive/tar returns it as
    // a header of its own and leaves later entries as their headers say; containers/storage
    // and moby skip it, so an image's files are what their own headers say (umoci 0.4.7
    // refuses the layer). GNU tar and Python would apply it to every later entry.
    else if (flag === 0x67) parsePax(body, at);
    else if (flag === 0x4c) meta.longName = parseString(body, 0, body.length);
    else meta.longLink = parseString(body, 0, body.length);
  }

  /** Old GNU sparse headers may be followed by extension blocks holding more of the map. */
  private async skipSparseExtensions(): Promise<void> {
    for (;;) {
      if (!(await this.r.readBlock())) throw this.r.truncated('a sparse header');
      if (this.r.blockBuf[this.r.blockOff + 504] === 0) return;
    }
  }

  /** One zero block ends the archive only with a second one (or a clean end of stream). */
  private async expectSecondZeroBlock(at: number): Promise<void> {
    if (!(await this.r.readBlock())) return;
    const b = this.r.blockBuf;
    const o = this.r.blockOff;
    for (let i = o; i < o + 512; i++) {
      if (b[i] !== 0) throw new InvalidTarError('a lone zero block inside the archive', at - 512);
    }
  }
}

/**
 * Scan a tar stream (already decompressed) and yield its entries with every extension
 * applied: ustar with prefix, PAX `x` (long paths, sizes over 8 GiB, fractional mtimes,
 * uid/gid, names, `SCHILY.xattr.*`), GNU `L`/`K` long names, base-256 numbers, v7 headers.
 * A global PAX header (`g`) is checked and then applied to no entry, nor yielded: what Go's
 * archive/tar readers of layers (containers/storage, moby) make of it.
 *
 * Each record's content can be streamed with `readBody()` before the next iteration; content
 * not read is skipped without copying. Bad checksums, malformed fields and archives that end
 * early throw {@link InvalidTarError}. Breaking out of the loop stops the source.
 */
export function readTar(
  source: AsyncIterable<Uint8Array> | Readable,
  options: ReadTarOptions = {},
): AsyncGenerator<TarRecord, void, undefined> {
  return new TarScanner(source, options).run();
}

/**
 * Hand every entry of a tar stream to `onEntry` as its header is parsed, skipping all
 * content: {@link readTar}'s parsing and errors without a promise per entry (listing a
 * 50,000-file layer spent more time in `for await` than in parsing headers). Resolves
 * when the archive (and the source) ends.
 */
export async function scanTarEntries(
  source: AsyncIterable<Uint8Array> | Readable,
  onEntry: (entry: TarEntry) => void,
  options: ReadTarOptions = {},
): Promise<void> {
  for await (const _ of new TarScanner(source, options).run(onEntry)) {
    // Never reached: with a sink the scanner yields nothing.
  }
}

/**
 * Hand every record of a tar stream to `onRecord`, in order: {@link readTar}'s parsing,
 * errors and bodies without a promise per entry. A record's body can be read (streamed
 * or taken whole) until `onRecord` returns, or until the promise it returns settles; the
 * scan waits for that promise before the next entry. Resolves when the archive (and the
 * source) ends; a handler's failure stops the source and rejects.
 */
export async function scanTarRecords(
  source: AsyncIterable<Uint8Array> | Readable,
  onRecord: (record: TarRecord) => Promise<void> | undefined,
  options: ReadTarOptions = {},
): Promise<void> {
  for await (const _ of new TarScanner(source, options).run(undefined, onRecord)) {
    // Never reached: with a record handler the scanner yields nothing.
  }
}

/** Just the entries of {@link readTar}, for consumers that never read content. */
export async function* readTarEntries(
  source: AsyncIterable<Uint8Array> | Readable,
  options: ReadTarOptions = {},
): AsyncGenerator<TarEntry, void, undefined> {
  for await (const record of readTar(source, options)) yield record.entry;
}
