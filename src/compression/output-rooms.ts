/**
 * Output buffers ("rooms") of one size that a decoder fills and a consumer gives back once
 * it is done with what was cut from them, so that the next output lands in memory that is
 * already mapped and warm instead of a fresh buffer per step.
 *
 * Why: a zstd layer listed through fresh 1 MiB buffers touched ~120 MB of new memory for
 * 121 MB of tar: ~25,000 page faults, on this kernel as much CPU as libzstd's decoding
 * itself, and dead buffers piled up until a GC freed them (RSS). With rooms given back, a
 * listing cycles through a handful (bench/ANALYSIS.md, eighth session).
 *
 * A consumer gives back only chunks it will never read again and that nothing else holds;
 * chunks it does not give back are simply not reused. Chunks of other origins (another
 * pool, Node's zlib) are ignored, and a chunk given back twice counts once.
 */
export class OutputRooms {
  private readonly free: Buffer[] = [];
  /** Rooms handed out and not given back yet, by their memory. */
  private readonly out = new WeakSet<ArrayBufferLike>();

  /**
   * @param size - bytes of each room.
   * @param keep - rooms kept for reuse at most; further ones given back are let go.
   */
  constructor(
    readonly size = 1024 * 1024,
    private readonly keep = 8,
  ) {}

  /** A room to fill: one given back earlier, else a new one. */
  take(): Buffer {
    // allocUnsafeSlow: a room of its own, never a slice of Node's shared pool, so its
    // memory identifies it.
    const room = this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
    this.out.add(room.buffer);
    return room;
  }

  /** Give back the room `chunk` was cut from (a chunk not from these rooms is ignored). */
  giveBack(chunk: Uint8Array): void {
    const memory = chunk.buffer;
    if (!this.out.has(memory)) return;
    this.out.delete(memory);
    if (this.free.length < this.keep) {
      this.free.push(Buffer.from(memory, 0, this.size));
    }
  }
}
