import type { Duplex } from 'node:stream';

/**
 * Reused output buffers ("rooms") for a node:zlib gunzip stream: its pieces are cut from a
 * few rooms that come back once the reader has moved past them, instead of from a fresh
 * buffer per `chunkSize` of output.
 *
 * Why: unpack applies small files straight from the piece they are in, so a piece lives
 * while its files go through the layer rules, which allocate. A fresh piece held that long
 * is now and then promoted to V8's old generation, and its memory (outside the heap) then
 * waits for a full GC: with 128 KiB pieces single unpacks peaked at 126-130 MB, over the
 * 128 MB bound that 64 KiB pieces met, though larger pieces cost ~8-18 % less CPU (fewer
 * thread-pool round trips and stream pushes, fewer files straddling two pieces;
 * bench/ANALYSIS.md, ninth and tenth sessions). Rooms are alive all along and written
 * again, so a piece's size no longer shows in the garbage.
 *
 * How: node:zlib cuts every piece it pushes from `stream._outBuffer` (a view, no copy) and
 * assigns a new `Buffer.allocUnsafe(chunkSize)` there when the old one is full, before it
 * writes again (lib/zlib.js `processCallback`, as in Node 20). An accessor
 * on the stream's own `_outBuffer` hands zlib a room instead: what zlib allocated dies at
 * once (in the young generation). A zlib that stops using the property never calls the
 * accessor, its pieces are its own buffers, and those are simply never reused here.
 * Either way zlib never writes over bytes it pushed: it moves to a new buffer first,
 * which is the moment a room is taken.
 *
 * The reader's side: {@link GzipRooms.passed} with each piece it starts on; the rooms of
 * the pieces before it are free again. A reader calls it only once it holds nothing of the
 * earlier pieces (the tar scanner keeps no view of a piece it has left; file bytes are
 * copied into the writer's batches before `DiskWriter.write` returns). One stream at a
 * time: rooms are freed by their order in {@link GzipRooms.passed}, so a second stream
 * writing into the same rooms meanwhile would have its held pieces freed by the first's
 * reader (unpack's layers take turns).
 */
export class GzipRooms {
  private readonly free: Buffer[] = [];
  /** Rooms zlib has (had) to write into, oldest first, not given back yet. */
  private readonly out: Buffer[] = [];

  /**
   * @param size - bytes of each room: the stream's `chunkSize`.
   * @param keep - rooms kept for reuse at most.
   */
  constructor(
    readonly size: number,
    private readonly keep = 8,
  ) {}

  /**
   * Make `gunzip` (node:zlib, created with `chunkSize` {@link GzipRooms.size}) write into
   * these rooms. Returns false, changing nothing, when the stream does not look as
   * expected (then its pieces are zlib's own).
   */
  install(gunzip: Duplex): boolean {
    const z = gunzip as Duplex & { _outBuffer?: unknown; _chunkSize?: unknown };
    const current = Object.getOwnPropertyDescriptor(z, '_outBuffer');
    if (
      !current ||
      !('value' in current) ||
      !Buffer.isBuffer(current.value) ||
      current.value.length !== this.size ||
      z._chunkSize !== this.size
    ) {
      return false;
    }
    let room = this.take();
    Object.defineProperty(z, '_outBuffer', {
      configurable: true,
      enumerable: true,
      get: () => room,
      // zlib's fresh buffer is dropped: the next output goes into a room.
      set: () => {
        room = this.take();
      },
    });
    return true;
  }

  /**
   * The reader is done with every piece before `piece` (and holds none of them): rooms
   * that only those pieces came from are reused.
   */
  passed(piece: Uint8Array): void {
    const out = this.out;
    // Rooms are filled in order, so the pieces before `piece` are in the rooms before its
    // own. A piece not from a room (zlib's own buffer) frees nothing.
    const at = out.findIndex((room) => room.buffer === piece.buffer);
    for (let i = 0; i < at; i++) {
      const room = out.shift()!;
      if (this.free.length < this.keep) this.free.push(room);
    }
  }

  private take(): Buffer {
    // allocUnsafeSlow: a room of its own, never a slice of Node's shared pool.
    const room = this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
    this.out.push(room);
    return room;
  }
}
