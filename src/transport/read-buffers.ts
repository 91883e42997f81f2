/**
 * The memory one connection reads into: equal views of one slab, reused for the life of
 * the connection, filled front to back. Each read lands right after the previous one in
 * the current view (the socket is given the view's free tail), so small reads (TLS hands
 * over one 16 KiB record at a time) pack into one view and a sink that writes them to a
 * file gets long runs of neighbouring pieces. A piece handed to a body consumer may be
 * held (an asynchronous file write still reading it); a view with a held piece is not
 * started again from its front until every hold on it is released.
 *
 * The slab is allocated unfilled, so only the views actually used ever become resident: a
 * consumer that is done with each read synchronously keeps reusing the first view.
 *
 * Net's `onread` asks for the next buffer right after each read, and TLS goes on handing
 * over the records it already decrypted after the socket was told to stop reading. So
 * {@link next} must always have somewhere safe to point: when every view is held it gives
 * a fresh buffer of its own (never reused, and never needed by a consumer that stops
 * reading when {@link advance} says so; it only keeps held bytes from being overwritten).
 */
export class ReadBuffers {
  private readonly views: Buffer[];
  private readonly holds: number[];
  private target = 0;
  /** Where the next read lands in the target view. */
  private fill = 0;
  /** A buffer outside the slab, used when every view was held (see the class notes). */
  private spill: Buffer | undefined;

  /**
   * @param count views in the slab
   * @param bytes size of one view
   * @param minRoom a view with less free room than this is not read into any more
   */
  constructor(
    count: number,
    private readonly bytes: number,
    private readonly minRoom: number,
  ) {
    const slab = Buffer.allocUnsafeSlow(count * bytes);
    this.views = Array.from({ length: count }, (_, i) => slab.subarray(i * bytes, (i + 1) * bytes));
    this.holds = this.views.map(() => 0);
  }

  /** Where the socket reads next: the free tail of the target view. */
  next(): Buffer {
    if (this.spill) return this.spill;
    return this.views[this.target]?.subarray(this.fill) as Buffer;
  }

  /**
   * A read of `n` bytes landed in the buffer {@link next} gave. Returns the index of the view
   * it landed in (for {@link hold}), or -1 when it landed outside the slab.
   */
  landed(n: number): number {
    if (this.spill) {
      this.spill = undefined;
      return -1;
    }
    this.fill += n;
    return this.target;
  }

  /** Keep view `index` (from {@link landed}) from being started again until {@link release}. */
  hold(index: number): void {
    if (index >= 0) this.holds[index] = (this.holds[index] as number) + 1;
  }

  /** One hold of view `index` ended. */
  release(index: number): void {
    if (index >= 0) this.holds[index] = (this.holds[index] as number) - 1;
  }

  /** True when {@link advance} will leave the target view or start it again from its front. */
  leavesView(): boolean {
    return this.spill !== undefined || this.bytes - this.fill < this.minRoom;
  }

  /**
   * Choose where the next read lands: on in the target view while it has room, else the
   * front of a view nobody holds (the target itself when free: its pages are already
   * resident). Returns false when no view besides the target is free: then the consumer
   * must stop reading until a hold is released, or the read after next could find no room.
   */
  advance(): boolean {
    if (this.bytes - this.fill < this.minRoom) {
      const free = this.holds[this.target] === 0 ? this.target : this.holds.indexOf(0);
      if (free < 0) {
        this.spill = Buffer.allocUnsafe(this.minRoom);
      } else {
        this.target = free;
        this.fill = 0;
      }
    }
    return this.hasSpare();
  }

  /** True when a view other than the target is free. */
  hasSpare(): boolean {
    for (let i = 0; i < this.holds.length; i++) {
      if (i !== this.target && this.holds[i] === 0) return true;
    }
    return false;
  }
}
