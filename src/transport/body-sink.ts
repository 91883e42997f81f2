import type { Readable } from 'node:stream';

/**
 * Receives a body piece by piece, in order. A piece is a view of memory that is reused
 * once the sink is done with it: the sink must finish with it before it returns, or
 * return a promise and finish before that settles (an asynchronous positioned write). A
 * sink that throws or rejects ends the transfer with that error.
 *
 * The next piece may come before the last one's promise settled: a registry response
 * hands on what it reads while earlier pieces still hold its read buffers (it stops only
 * when none is free), {@link pipeReadableTo} has up to `staging.count` (4) in the sink,
 * {@link pipeChunksTo} up to its byte limit; only a layout's blob and a download's spool
 * wait for each promise. A sink that must take its pieces one after
 * another (it awaits room, a thread, an upload) chains them itself, as the S3 writers'
 * `keepingSink` does: a sink whose calls overlap and share one waiter loses a wake-up,
 * and a promise that never settles leaves `pipeTo` pending with nothing to end it.
 */
export type BodySink = (piece: Buffer) => undefined | Promise<void>;

/** A body that can feed a {@link BodySink} directly, without a stream in between. */
export interface SinkSource {
  /**
   * Hand every piece of the body to `sink`. Settles once the whole body was handed over
   * and every promise the sink returned has settled (also when it fails, so nothing is
   * still writing when the caller cleans up). Call at most once, instead of reading.
   */
  pipeTo(sink: BodySink): Promise<void>;
}

/** True when `body` offers {@link SinkSource.pipeTo}. */
export function canPipeTo(body: unknown): body is SinkSource {
  return typeof (body as Partial<SinkSource> | undefined)?.pipeTo === 'function';
}

/** How {@link pipeReadableTo} gathers: the size of its pieces, and how many may be in the sink. */
export interface Staging {
  bytes: number;
  count: number;
}

/** The default {@link Staging}: 4 pieces of 256 KiB. */
const DEFAULT_STAGING: Staging = { bytes: 256 * 1024, count: 4 };

/**
 * What {@link pipeReadableTo} and {@link pipeChunksTo} share: the stream's listeners, added
 * and removed together; every sink promise counted, so the feed settles only once none is
 * pending (also when it fails: nothing is still writing when the caller cleans up); the
 * first failure kept, the stream paused, then destroyed; a stream that closes before its
 * end failing with `ERR_STREAM_PREMATURE_CLOSE`. What a feed does with each chunk (copy it
 * into staging buffers, or hand it on as it is) is a subclass's; each names the piece it
 * hands on by a number (`tag`) that it gets back once the sink is done with the piece.
 */
abstract class StreamFeed {
  /** Sink promises not yet settled. */
  protected busy = 0;
  /** The stream emitted 'end'. */
  protected ended = false;
  /** The stream was paused by the feed, to wait for room in the sink. */
  protected paused = false;
  protected failure: { error: unknown } | undefined;
  private resolve: () => void = () => {};
  private reject: (error: unknown) => void = () => {};

  constructor(
    protected readonly body: Readable,
    private readonly sink: BodySink,
  ) {}

  /** Listen to the stream; settles as {@link SinkSource.pipeTo} does. */
  run(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.body.on('data', this.onData);
      this.body.on('end', this.onEnd);
      this.body.on('error', this.onError);
      this.body.on('close', this.onClose);
    });
  }

  /** Take one chunk of the stream. */
  protected abstract take(chunk: Buffer): void;
  /** The stream ended: hand on whatever is held back (and may be handed on now). */
  protected abstract flush(): void;
  /** True while bytes the stream gave are held back, not yet handed to the sink. */
  protected abstract holding(): boolean;
  /** The sink is done with the piece `tag` names (its promise settled either way). */
  protected abstract release(tag: number): void;
  /** A piece's promise fulfilled, nothing failed: go on with what waits. */
  protected abstract next(): void;

  /**
   * Hand `piece` to the sink. True when the sink kept it (returned a promise): its room is
   * taken until {@link release} gets `tag` back.
   */
  protected give(piece: Buffer, tag: number): boolean {
    let result: Promise<void> | undefined;
    try {
      result = this.sink(piece);
    } catch (error) {
      this.fail(error);
      return false;
    }
    if (!result) return false;
    this.busy++;
    result.then(
      () => {
        this.busy--;
        this.release(tag);
        if (this.failure) this.settle();
        else this.next();
      },
      (error: unknown) => {
        this.busy--;
        this.release(tag);
        this.fail(error);
      },
    );
    return true;
  }

  /** Pause the stream until the sink has room. */
  protected pause(): void {
    this.paused = true;
    this.body.pause();
  }

  /** Resume the stream if the feed paused it. */
  protected resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.body.resume();
  }

  /** Settle once no sink promise is pending and the feed failed, or ended with nothing held. */
  protected settle(): void {
    if (this.busy > 0 || !(this.failure || (this.ended && !this.holding()))) return;
    this.body.off('data', this.onData);
    this.body.off('end', this.onEnd);
    this.body.off('error', this.onError);
    this.body.off('close', this.onClose);
    if (this.failure) {
      if (!this.body.destroyed) this.body.destroy();
      this.reject(this.failure.error);
    } else this.resolve();
  }

  protected fail(error: unknown): void {
    this.failure ??= { error };
    this.body.pause();
    this.settle();
  }

  private readonly onData = (chunk: Buffer): void => this.take(chunk);
  private readonly onEnd = (): void => {
    this.ended = true;
    this.flush();
    this.settle();
  };
  private readonly onError = (error: Error): void => this.fail(error);
  private readonly onClose = (): void => {
    if (this.ended) return;
    const error = new Error('the stream closed before its end');
    this.fail(Object.assign(error, { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  };
}

/** {@link pipeReadableTo}'s policy: copy chunks into reused staging buffers. */
class StagedFeed extends StreamFeed {
  private readonly stages: Buffer[] = [];
  private readonly inSink: boolean[] = [];
  /** The buffer being filled, and how far. */
  private stage = 0;
  private filled = 0;
  /** The rest of a chunk that met a buffer still in the sink (the stream is paused). */
  private rest: Buffer | undefined;

  constructor(
    body: Readable,
    sink: BodySink,
    private readonly stageBytes: number,
    private readonly stageCount: number,
  ) {
    super(body, sink);
  }

  protected take(chunk: Buffer): void {
    this.rest = undefined;
    for (let at = 0; at < chunk.length; ) {
      if (this.failure) return;
      if (this.inSink[this.stage]) {
        this.rest = chunk.subarray(at);
        this.pause();
        return;
      }
      this.stages[this.stage] ??= Buffer.allocUnsafeSlow(this.stageBytes);
      const n = chunk.copy(this.stages[this.stage] as Buffer, this.filled, at);
      this.filled += n;
      at += n;
      if (this.filled === this.stageBytes || this.busy === 0) this.handOn();
    }
    if (this.ended) {
      if (this.filled > 0 && !this.failure) this.handOn();
      this.settle();
    } else this.resume();
  }

  protected flush(): void {
    // With a rest waiting, it is handed on once the sink frees a buffer.
    if (!this.rest && this.filled > 0) this.handOn();
  }

  protected holding(): boolean {
    return this.rest !== undefined || this.filled > 0;
  }

  protected release(at: number): void {
    this.inSink[at] = false;
  }

  protected next(): void {
    if (this.rest) this.take(this.rest);
    else if (this.busy === 0 && this.filled > 0)
      this.handOn(); // the sink caught up: hand on what waits
    else if (this.ended) this.settle();
  }

  private handOn(): void {
    const at = this.stage;
    const piece = (this.stages[at] as Buffer).subarray(0, this.filled);
    this.filled = 0;
    this.stage = (at + 1) % this.stageCount;
    if (this.give(piece, at)) this.inSink[at] = true;
  }
}

/** {@link pipeChunksTo}'s policy: hand each chunk on as it is, pausing at `maxBytes` in the sink. */
class ChunkedFeed extends StreamFeed {
  private bytesInSink = 0;

  constructor(
    body: Readable,
    sink: BodySink,
    private readonly maxBytes: number,
  ) {
    super(body, sink);
  }

  protected take(chunk: Buffer): void {
    if (this.failure || !this.give(chunk, chunk.length)) return;
    this.bytesInSink += chunk.length;
    if (this.bytesInSink >= this.maxBytes && !this.paused) this.pause();
  }

  protected flush(): void {}

  protected holding(): boolean {
    return false;
  }

  protected release(length: number): void {
    this.bytesInSink -= length;
  }

  protected next(): void {
    if (this.ended) this.settle();
    else if (this.bytesInSink < this.maxBytes) this.resume();
  }
}

/**
 * Feed an ordinary stream to a sink through a few reused buffers (`staging`, by default
 * 4 of 256 KiB, allocated as they are first needed). Chunks are
 * gathered while the sink is busy and handed on as one piece when a buffer is full or the
 * sink has nothing left to do, as a write stream batches `writev` calls: TLS delivers
 * 16 KiB records, and a sink that writes each piece to a file then makes one system call
 * per batch rather than per record. At most `staging.count` pieces are in the sink at once.
 * The copy into the buffer is a memcpy.
 */
export function pipeReadableTo(
  body: Readable,
  sink: BodySink,
  staging: Staging = DEFAULT_STAGING,
): Promise<void> {
  return new StagedFeed(body, sink, staging.bytes, staging.count).run();
}

/**
 * Feed an ordinary stream's chunks to a sink as they are, with no copy: a stream's chunk
 * belongs to its reader once emitted (Node's HTTP server copies each body piece out of its
 * socket buffer into memory of its own), so it may stay in the sink until the sink's
 * promise settles. {@link pipeReadableTo} copies every byte into its staging buffers; for
 * a sink that gathers pieces itself (a positional writer's `pwritev`) that copy is all it
 * adds: 2.4% of a 64-client push's CPU. The stream is paused while `maxBytes` or more of
 * its chunks are in the sink.
 */
export function pipeChunksTo(body: Readable, sink: BodySink, maxBytes: number): Promise<void> {
  return new ChunkedFeed(body, sink, maxBytes).run();
}

/** Feed a stream's chunks as they are (see {@link pipeChunksTo}), at most `maxBytesInSink` at once. */
export interface ChunkFeed {
  maxBytesInSink: number;
}

/**
 * Feed `source` to `sink` the cheapest way it offers: {@link SinkSource.pipeTo} when it
 * has it (a verified blob from a plain-HTTP registry: views, no copy), else
 * {@link pipeReadableTo} (through `staging`), or {@link pipeChunksTo} when `staging` is a
 * {@link ChunkFeed}. Aborting `signal` destroys the source and
 * rejects with the signal's reason, once nothing is in the sink any more.
 */
export async function feedSink(
  source: Readable,
  sink: BodySink,
  signal?: AbortSignal,
  staging?: Staging | ChunkFeed,
): Promise<void> {
  signal?.throwIfAborted();
  const onAbort = () => source.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await (canPipeTo(source)
      ? source.pipeTo(sink)
      : staging && 'maxBytesInSink' in staging
        ? pipeChunksTo(source, sink, staging.maxBytesInSink)
        : pipeReadableTo(source, sink, staging));
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
