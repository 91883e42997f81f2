import type { Writable } from 'node:stream';
import type { BodySink } from '../../transport/body-sink.js';

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
