/**
 * The buffers one connection reads into: equal views of one slab, reused for the life of
 * the connection. A view handed to a body consumer may be held (an asynchronous file
 * write still reading it); a held view is never read into until it is released.
 *
 * The slab is allocated unfilled, so only the views actually used ever become resident: a
 * consumer that is done with each read synchronously keeps reusing the first view.
 */
export class ReadBuffers {
  private readonly views: Buffer[];
  private readonly holds: number[];
  private target = 0;

  constructor(count: number, bytes: number) {
    const slab = Buffer.allocUnsafeSlow(count * bytes);
    this.views = Array.from({ length: count }, (_, i) => slab.subarray(i * bytes, (i + 1) * bytes));
    this.holds = this.views.map(() => 0);
  }

  /** The view the socket reads into next. */
  get current(): Buffer {
    return this.views[this.target] as Buffer;
  }

  /** Mark `view` (a view the socket read into) as in use until {@link release}. */
  hold(view: Buffer): number {
    const index = this.views.indexOf(view);
    if (index < 0) throw new Error('not a read buffer of this connection');
    this.holds[index] = (this.holds[index] as number) + 1;
    return index;
  }

  /** One use of the view `index` (from {@link hold}) ended. */
  release(index: number): void {
    this.holds[index] = (this.holds[index] as number) - 1;
  }

  /**
   * Choose the view for the next read: the current one when it is free (its pages are
   * already resident), else the first free one. Returns false when, after this choice, no
   * other view is free: then the connection must stop reading, because the read after the
   * next one would have nowhere to go (net's `onread` asks for the next buffer right after
   * each read, whether or not the socket goes on reading).
   */
  advance(): boolean {
    if (this.holds[this.target] !== 0) {
      const free = this.holds.indexOf(0);
      if (free < 0) throw new Error('every read buffer is held');
      this.target = free;
    }
    return this.hasSpare();
  }

  /** True when a view other than the current one is free. */
  hasSpare(): boolean {
    for (let i = 0; i < this.holds.length; i++) {
      if (i !== this.target && this.holds[i] === 0) return true;
    }
    return false;
  }
}
