import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { closeFd, createPipe, setPipeSize } from '../../native/socket.js';
import { feedSink } from '../../transport/body-sink.js';
import { writableSink } from '../blob-response.js';

/**
 * Pipe buffer asked for (Linux's default is 64 KiB; unprivileged processes may have up
 * to /proc/sys/fs/pipe-max-size, 1 MiB by default): fewer wake-ups of writer and
 * reader per megabyte.
 */
const PIPE_BYTES = 1024 * 1024;

/** What went wrong with a transfer, as the JSON protocol reports it at `FinishPipe`. */
export type TransferFailure = { error: unknown };

/**
 * Bytes going to the client through a pipe whose read end the client received: the
 * proxy writes into the write end (a `net.Socket` on it, so writes are asynchronous on
 * the event loop and a closed read end shows as EPIPE) and closes it only when told
 * ({@link close}, on `FinishPipe`), so the client cannot mistake a failed transfer for
 * a complete one.
 */
export class PipeTransfer {
  /** The read end, for the reply; the proxy's copy is closed once the reply went out. */
  readonly readFd: number;
  /** The write end's fd number: the `pipeid` skopeo gives its pipes too. */
  readonly writeFd: number;
  private readonly writer: Socket;
  private readonly controller = new AbortController();
  private readEndClosed = false;
  /** Settles when every byte was written or the transfer failed (never rejects). */
  private finished: Promise<TransferFailure | undefined> = Promise.resolve(undefined);
  /** Bytes written into the pipe so far. */
  written = 0;

  constructor() {
    const { read, write } = createPipe();
    setPipeSize(write, PIPE_BYTES);
    this.readFd = read;
    this.writeFd = write;
    // libuv takes the fd (and makes it non-blocking; the read end stays blocking).
    this.writer = new Socket({ fd: write, readable: false, writable: true });
    // Errors reach the pending write's callback; this only keeps them from being thrown.
    this.writer.on('error', () => {});
  }

  /** Start writing `source` (bytes, or a verified stream) into the pipe. */
  start(source: Buffer | Readable): void {
    const stream = Buffer.isBuffer(source) ? Readable.from([source]) : source;
    const write = writableSink(this.writer);
    const count = (piece: Buffer) => {
      this.written += piece.length;
      return write(piece);
    };
    this.finished = feedSink(stream, count, this.controller.signal).then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
  }

  /** Close the proxy's copy of the read end (after the reply carried it). */
  releaseReadEnd(): void {
    if (this.readEndClosed) return;
    this.readEndClosed = true;
    closeFd(this.readFd);
  }

  /** Wait until the transfer ended; resolves to its failure, if any. */
  result(): Promise<TransferFailure | undefined> {
    return this.finished;
  }

  /** Wait for the transfer, then close the write end: the client sees the end of data. */
  async close(): Promise<TransferFailure | undefined> {
    const failure = await this.finished;
    this.releaseReadEnd();
    await new Promise<void>((resolve) => {
      if (this.writer.destroyed) resolve();
      else this.writer.destroy().once('close', () => resolve());
    });
    return failure;
  }

  /** Stop now (the client left): abort the source, close both ends. */
  abort(): void {
    this.controller.abort(new Error('the image proxy is closing'));
    this.releaseReadEnd();
    this.writer.destroy();
  }
}
