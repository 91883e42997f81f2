import { InvalidArgumentError, InvalidTarError } from '../errors/index.js';

const EMPTY = Buffer.alloc(0);

/**
 * Cursor over a stream of chunks, for the tar scanner. It never concatenates chunks in
 * the common case: a header lying wholly inside one chunk is parsed in place, and skipped
 * content only moves `pos`. Only a header split across chunks is copied (into one reused
 * 512-byte scratch block), and only extension bodies (PAX, GNU long names) are gathered.
 */
export class ChunkReader {
  /** The current chunk; bytes before `pos` are consumed. */
  buf: Buffer = EMPTY;
  pos = 0;
  /** Absolute offset of `buf[0]` in the whole stream. */
  base = 0;
  /** Where {@link readBlock} left the block it read. */
  blockBuf: Buffer = EMPTY;
  blockOff = 0;
  private ended = false;
  private readonly scratch = Buffer.allocUnsafe(512);

  constructor(
    private readonly it: AsyncIterator<Uint8Array>,
    private readonly signal?: AbortSignal,
  ) {}

  /** Absolute offset of the next unread byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Replace the (fully consumed) current chunk with the next non-empty one. */
  async load(): Promise<boolean> {
    this.base += this.buf.length;
    this.buf = EMPTY;
    this.pos = 0;
    if (this.ended) return false;
    for (;;) {
      this.signal?.throwIfAborted();
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        return false;
      }
      const v = r.value as Uint8Array | string;
      if (typeof v === 'string') {
        throw new InvalidArgumentError('tar source must yield bytes, not strings');
      }
      if (v.length === 0) continue;
      this.buf = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      return true;
    }
  }

  truncated(what: string): InvalidTarError {
    return new InvalidTarError(`archive truncated in ${what}`, this.offset);
  }

  /**
   * Make the next 512 bytes available at `blockBuf[blockOff]`. Returns false when the
   * stream ended cleanly before the block; throws when it ended inside it.
   */
  async readBlock(): Promise<boolean> {
    let filled = 0;
    while (filled < 512) {
      const avail = this.buf.length - this.pos;
      if (avail === 0) {
        if (await this.load()) continue;
        if (filled === 0) return false;
        throw this.truncated('a header');
      }
      if (filled === 0 && avail >= 512) {
        this.blockBuf = this.buf;
        this.blockOff = this.pos;
        this.pos += 512;
        return true;
      }
      const n = Math.min(avail, 512 - filled);
      this.buf.copy(this.scratch, filled, this.pos, this.pos + n);
      this.pos += n;
      filled += n;
    }
    this.blockBuf = this.scratch;
    this.blockOff = 0;
    return true;
  }

  /** Skip `n` bytes without looking at them. */
  async skip(n: number, what: string): Promise<void> {
    while (n > 0) {
      const avail = this.buf.length - this.pos;
      if (avail >= n) {
        this.pos += n;
        return;
      }
      n -= avail;
      this.pos = this.buf.length;
      if (!(await this.load())) throw this.truncated(what);
    }
  }

  /** Gather the next `n` bytes into one new buffer. */
  async read(n: number, what: string): Promise<Buffer> {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const avail = this.buf.length - this.pos;
      if (avail === 0) {
        if (!(await this.load())) throw this.truncated(what);
        continue;
      }
      const k = Math.min(avail, n - filled);
      this.buf.copy(out, filled, this.pos, this.pos + k);
      this.pos += k;
      filled += k;
    }
    return out;
  }

  /** Consume the rest of the stream. */
  async drain(): Promise<void> {
    this.pos = this.buf.length;
    while (await this.load()) this.pos = this.buf.length;
  }

  /** Stop the source early (destroys a Readable). */
  async cancel(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.it.return?.();
  }
}
