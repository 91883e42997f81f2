import { Readable } from 'node:stream';
import type { BodySink, SinkSource } from './body-sink.js';

/** What a {@link ResponseBody} asks of the connection it arrives on. */
export interface BodyFlow {
  /** Keep the read buffer `readBuffer` from being read into again; returns a handle. */
  hold(readBuffer: Buffer): number;
  /** The hold `handle` ended (the connection may read again). */
  release(handle: number): void;
  /** The consumer wants more bytes. */
  resume(): void;
  /** The consumer stopped before the end: the connection cannot be reused. */
  abandon(): void;
}

/**
 * The body of a response read by the project's own HTTP/1.1 client. Two ways to consume
 * it, chosen by the first use:
 *
 * - as a `Readable` (`data`, `pipe`, `for await`): each piece is copied out of the
 *   connection's read buffer, so chunks may be kept, like `node:http` bodies;
 * - with {@link pipeTo}: the sink gets views of the read buffer itself (zero copy), and a
 *   view it holds with a promise is not read into until that settles. Backpressure is the
 *   connection's few read buffers.
 *
 * Bytes arriving before either (at most one read, usually none) are copied and the
 * connection stops reading until a consumer comes; an error then waits for it too, so a
 * body nobody has read yet never emits an unhandled `error`.
 */
export class ResponseBody extends Readable implements SinkSource {
  private mode: 'waiting' | 'stream' | 'sink' = 'waiting';
  private early: Buffer[] = [];
  private ended = false;
  private failure: Error | undefined;
  private sink: BodySink | undefined;
  private inSink = 0;
  private sinkFailure: { error: unknown } | undefined;
  private settle: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  private wants = false;

  constructor(private readonly flow: BodyFlow) {
    super();
  }

  /** True while the consumer takes more bytes (the connection reads on). */
  get wantsData(): boolean {
    return this.wants;
  }

  /** True while nobody has started to read the body. */
  get awaitingConsumer(): boolean {
    return this.mode === 'waiting';
  }

  /** Body bytes from the connection; `readBuffer` is the read buffer `piece` lies in. */
  write(piece: Buffer, readBuffer: Buffer): void {
    if (this.mode === 'sink') this.toSink(piece, readBuffer);
    else if (this.mode === 'stream') this.wants = this.push(Buffer.from(piece));
    else {
      this.early.push(Buffer.from(piece));
      this.wants = false;
    }
  }

  /** The whole body arrived. */
  end(): void {
    if (this.ended || this.failure) return;
    this.ended = true;
    if (this.mode === 'stream') this.push(null);
    else if (this.mode === 'sink') this.check();
  }

  /** The body cannot be completed (network error, timeout, abort, bad framing). */
  fail(err: Error): void {
    if (this.ended || this.failure) return;
    this.failure = err;
    this.wants = false;
    if (this.mode === 'stream') this.destroy(err);
    else if (this.mode === 'sink') this.check();
  }

  pipeTo(sink: BodySink): Promise<void> {
    if (this.mode !== 'waiting' || this.destroyed) {
      return Promise.reject(new Error('response body is already being read'));
    }
    this.mode = 'sink';
    this.sink = sink;
    return new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
      const early = this.early;
      this.early = [];
      for (const piece of early) this.toSink(piece, undefined);
      this.wants = !this.sinkFailure;
      if (this.wants && !this.ended && !this.failure) this.flow.resume();
      this.check();
    });
  }

  override _read(): void {
    if (this.mode === 'waiting') {
      this.mode = 'stream';
      const early = this.early;
      this.early = [];
      for (const piece of early) this.push(piece);
      if (this.failure) {
        this.destroy(this.failure);
        return;
      }
      if (this.ended) {
        this.push(null);
        return;
      }
    }
    this.wants = true;
    if (!this.ended) this.flow.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.wants = false;
    if (!this.ended && !this.failure) {
      this.failure = err ?? new Error('response body destroyed');
      this.flow.abandon();
    }
    callback(err);
  }

  private toSink(piece: Buffer, readBuffer: Buffer | undefined): void {
    if (this.sinkFailure) return;
    let result: Promise<void> | undefined;
    try {
      result = (this.sink as BodySink)(piece);
    } catch (error) {
      this.sinkFailed(error);
      return;
    }
    if (!result) return;
    const handle = readBuffer ? this.flow.hold(readBuffer) : -1;
    this.inSink++;
    const done = () => {
      this.inSink--;
      if (handle >= 0) this.flow.release(handle);
    };
    result.then(
      () => {
        done();
        this.check();
      },
      (error: unknown) => {
        done();
        this.sinkFailed(error);
      },
    );
  }

  private sinkFailed(error: unknown): void {
    if (!this.sinkFailure) {
      this.sinkFailure = { error };
      this.wants = false;
      if (!this.ended && !this.failure) {
        this.failure = error as Error;
        this.flow.abandon();
      }
    }
    this.check();
  }

  /** Settle `pipeTo` once nothing is in the sink any more. */
  private check(): void {
    const settle = this.settle;
    if (!settle || this.inSink > 0) return;
    if (this.sinkFailure) settle.reject(this.sinkFailure.error);
    else if (this.failure) settle.reject(this.failure);
    else if (this.ended) settle.resolve();
    else return;
    this.settle = undefined;
    // Nobody reads this stream: end it without an 'error' event.
    this.destroy();
  }
}
