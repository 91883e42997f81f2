import type { Readable, Writable } from 'node:stream';
import { type BodySink, feedSink } from '../transport/body-sink.js';

/**
 * A sink that writes each piece into `stream` and holds it until the stream has handed it
 * to the kernel (the piece may be a view of a reused read buffer): the pieces in flight
 * are the only buffering, so memory stays flat however large the blob. A stream that
 * failed or was destroyed rejects the piece, which ends the transfer.
 */
export function writableSink(stream: Writable): BodySink {
  return (piece) =>
    new Promise((resolve, reject) => {
      if (stream.destroyed) {
        reject(stream.errored ?? new Error('the connection closed'));
        return;
      }
      stream.write(piece, (err) => (err ? reject(err) : resolve()));
    });
}

/**
 * Write a blob body of `size` bytes into `res` and end it. The body is read the cheapest
 * way it offers (`pipeTo` into the response through its reused buffers: a layout's
 * blob) and its final piece is held back (a copy) until the stream has checked the
 * digest: every byte but the last piece goes out as it arrives, and a blob that fails
 * verification never reaches its `Content-Length`. On any failure `res` is destroyed, so
 * the client sees a cut connection, never a clean end of a wrong body; the error is
 * rethrown. The registry server and the image proxy both answer blobs with this.
 */
export async function sendBlobBody(body: Readable, size: number, res: Writable): Promise<void> {
  const write = writableSink(res);
  let sent = 0;
  let final: Buffer | undefined;
  try {
    await feedSink(body, (piece) => {
      if (sent + piece.length < size) {
        sent += piece.length;
        return write(piece);
      }
      final = Buffer.from(piece);
      return undefined;
    });
    if (final) await write(final);
  } catch (err) {
    res.destroy();
    throw err;
  }
  res.end();
}
