/** Where printed bytes go: stdout, or a collector in tests. */
export interface ByteSink {
  write(chunk: Uint8Array): unknown;
}

/** Bytes gathered before one write. */
const BATCH_BYTES = 1024 * 1024;

/**
 * Encodes output lines as UTF-8 into a 1 MiB buffer and writes it out when full.
 *
 * Listings print tens of thousands of lines. Joined into one string per batch, each line
 * stayed a rope of its cells and padding until the write: the garbage collector copied
 * those ropes in every scavenge (up to 40 ms each in an `ls -R -l` of an application
 * image), and `Buffer.from` then flattened them once more. Encoding each line as it is
 * made keeps nothing. A fresh buffer follows each write, because a pipe may still hold
 * the last one.
 */
export class LineWriter {
  private buf = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;

  constructor(private readonly out: ByteSink = process.stdout) {}

  /** Add `text` and a newline. */
  line(text: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    const worst = text.length * 3 + 1;
    if (this.used + worst > this.buf.length) {
      this.flush();
      if (worst > this.buf.length) {
        this.out.write(Buffer.from(`${text}\n`, 'utf8'));
        return;
      }
    }
    this.used += this.buf.write(text, this.used, 'utf8');
    this.buf[this.used++] = 0x0a;
  }

  /** Write what is still gathered. */
  end(): void {
    this.flush();
  }

  private flush(): void {
    if (this.used === 0) return;
    this.out.write(this.buf.subarray(0, this.used));
    this.buf = Buffer.allocUnsafe(BATCH_BYTES);
    this.used = 0;
  }
}
