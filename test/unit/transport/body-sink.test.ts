import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type BodySink,
  feedSink,
  pipeChunksTo,
  pipeReadableTo,
} from '../../../src/transport/body-sink.js';

/** 16 KiB chunks, all buffered at once (as TLS records arrive in a burst). */
function burst(data: Buffer): Readable {
  const stream = new Readable({ read() {}, highWaterMark: data.length });
  for (let at = 0; at < data.length; at += 16 * 1024)
    stream.push(data.subarray(at, at + 16 * 1024));
  stream.push(null);
  return stream;
}

describe('feeding ordinary streams to a sink', () => {
  it('gathers buffered chunks into 256 KiB pieces, at most four in the sink at once', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const pieces: Buffer[] = [];
    let inSink = 0;
    let most = 0;
    await pipeReadableTo(burst(data), (piece) => {
      const copy = Buffer.from(piece);
      pieces.push(copy);
      inSink++;
      most = Math.max(most, inSink);
      return sleep(2).then(() => {
        assert.ok(piece.equals(copy), 'a piece in the sink was overwritten');
        inSink--;
      });
    });
    assert.ok(Buffer.concat(pieces).equals(data));
    // The first chunk goes out at once (the sink was idle); then full buffers.
    assert.equal(pieces[0]?.length, 16 * 1024);
    assert.deepEqual(
      pieces.slice(1, -1).map((p) => p.length),
      pieces.slice(1, -1).map(() => 256 * 1024),
    );
    assert.equal(most, 4);
    assert.equal(inSink, 0, 'settled after every sink promise');
  });

  it('hands on what it has when the stream has nothing more buffered', async () => {
    const seen: number[] = [];
    async function* slow() {
      yield Buffer.alloc(1000, 1);
      await sleep(5);
      yield Buffer.alloc(2000, 2);
    }
    await pipeReadableTo(Readable.from(slow()), (piece) => {
      seen.push(piece.length);
      return undefined;
    });
    assert.deepEqual(seen, [1000, 2000]);
  });

  it('a failing sink ends the transfer with its error once nothing is in the sink', async () => {
    let inSink = 0;
    let call = 0;
    const failure = new Error('no space');
    await assert.rejects(
      pipeReadableTo(burst(randomBytes(2 * 1024 * 1024)), () => {
        const mine = ++call;
        inSink++;
        return sleep(mine === 1 ? 1 : 10).then(() => {
          inSink--;
          if (mine === 1) throw failure;
        });
      }),
      (err) => err === failure,
    );
    assert.equal(inSink, 0);
  });

  it("pipeChunksTo hands on the stream's own chunks, pausing it at maxBytes in the sink", async () => {
    const data = randomBytes(1024 * 1024);
    const chunks: Buffer[] = [];
    for (let at = 0; at < data.length; at += 16 * 1024)
      chunks.push(data.subarray(at, at + 16 * 1024));
    const stream = new Readable({ read() {}, highWaterMark: data.length });
    for (const c of chunks) stream.push(c);
    stream.push(null);
    const pieces: Buffer[] = [];
    let inSink = 0;
    let most = 0;
    await pipeChunksTo(
      stream,
      (piece) => {
        pieces.push(piece);
        inSink += piece.length;
        most = Math.max(most, inSink);
        return sleep(1).then(() => {
          inSink -= piece.length;
        });
      },
      64 * 1024,
    );
    // The very buffers the stream emitted: no copy.
    assert.equal(pieces.length, chunks.length);
    assert.ok(pieces.every((p, i) => p === chunks[i]));
    assert.equal(most, 64 * 1024, 'paused once 64 KiB were in the sink');
    assert.equal(inSink, 0, 'settled after every sink promise');
  });

  it('pipeChunksTo: a failing sink ends the transfer once nothing is in the sink, the stream destroyed', async () => {
    let inSink = 0;
    let call = 0;
    const failure = new Error('no space');
    const stream = burst(randomBytes(2 * 1024 * 1024));
    await assert.rejects(
      pipeChunksTo(
        stream,
        () => {
          const mine = ++call;
          inSink++;
          return sleep(mine === 1 ? 1 : 10).then(() => {
            inSink--;
            if (mine === 1) throw failure;
          });
        },
        128 * 1024,
      ),
      (err) => err === failure,
    );
    assert.equal(inSink, 0);
    assert.equal(stream.destroyed, true);
  });

  // The scaffolding both feeds share: each case runs through both, so a change to one
  // that the other lacks shows.
  const feeds = [
    ['pipeReadableTo', (body: Readable, sink: BodySink) => pipeReadableTo(body, sink)],
    ['pipeChunksTo', (body: Readable, sink: BodySink) => pipeChunksTo(body, sink, 64 * 1024)],
  ] as const;
  for (const [name, feed] of feeds) {
    it(`${name}: a stream that closes before its end fails with ERR_STREAM_PREMATURE_CLOSE, listeners gone`, async () => {
      const stream = new Readable({ read() {} });
      stream.push(Buffer.alloc(100, 7));
      const seen: Buffer[] = [];
      const feeding = feed(stream, (piece) => {
        seen.push(Buffer.from(piece));
        return undefined;
      });
      setTimeout(() => stream.destroy(), 5);
      await assert.rejects(feeding, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
      assert.deepEqual(seen, [Buffer.alloc(100, 7)]);
      for (const event of ['data', 'end', 'error', 'close'])
        assert.equal(stream.listenerCount(event), 0, `a '${event}' listener left`);
    });

    it(`${name}: a stream error ends the feed with that error once the sink's promise settled`, async () => {
      const stream = new Readable({ read() {} });
      stream.push(Buffer.alloc(10));
      const failure = new Error('reset');
      let pending = 0;
      const feeding = feed(stream, () => {
        pending++;
        return sleep(20).then(() => {
          pending--;
        });
      });
      setTimeout(() => stream.destroy(failure), 5);
      await assert.rejects(feeding, (err) => err === failure);
      assert.equal(pending, 0, 'settled before the sink was done');
    });

    it(`${name}: a sink that throws ends the feed with its error, the stream destroyed`, async () => {
      const stream = burst(randomBytes(512 * 1024));
      const failure = new Error('bad piece');
      let calls = 0;
      await assert.rejects(
        feed(stream, () => {
          calls++;
          throw failure;
        }),
        (err) => err === failure,
      );
      assert.equal(calls, 1, 'the sink was called again after it threw');
      assert.equal(stream.destroyed, true);
    });

    it(`${name}: an ended stream settles with every byte in order, listeners gone`, async () => {
      const data = randomBytes(700 * 1024 + 3);
      const stream = burst(data);
      const got: Buffer[] = [];
      await feed(stream, (piece) => {
        got.push(Buffer.from(piece));
        return got.length % 2 ? sleep(1) : undefined;
      });
      assert.ok(Buffer.concat(got).equals(data));
      for (const event of ['data', 'end', 'error', 'close'])
        assert.equal(stream.listenerCount(event), 0, `a '${event}' listener left`);
    });
  }

  it('feedSink: an abort destroys the source and rejects with the reason', async () => {
    const source = new Readable({ read() {} });
    source.push(Buffer.alloc(10));
    const controller = new AbortController();
    const feeding = feedSink(source, () => undefined, controller.signal);
    setTimeout(() => controller.abort(new Error('stop')), 10);
    await assert.rejects(feeding, { message: 'stop' });
    assert.equal(source.destroyed, true);
  });
});
