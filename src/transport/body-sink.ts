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
  const { bytes: stageBytes, count: stageCount } = staging;
  return new Promise((resolve, reject) => {
    const stages: Buffer[] = [];
    const inSink: boolean[] = [];
    let busy = 0;
    let stage = 0;
    let filled = 0;
    let ended = false;
    let failure: { error: unknown } | undefined;
    /** The rest of a chunk that met a buffer still in the sink (the body is paused). */
    let rest: Buffer | undefined;
    let paused = false;

    const settle = (): void => {
      if (busy > 0 || !(failure || (ended && !rest && filled === 0))) return;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      if (failure) {
        if (!body.destroyed) body.destroy();
        reject(failure.error);
      } else resolve();
    };
    const fail = (error: unknown): void => {
      failure ??= { error };
      body.pause();
      settle();
    };
    const handOn = (): void => {
      const at = stage;
      const piece = (stages[at] as Buffer).subarray(0, filled);
      filled = 0;
      stage = (stage + 1) % stageCount;
      let result: Promise<void> | undefined;
      try {
        result = sink(piece);
      } catch (error) {
        fail(error);
        return;
      }
      if (!result) return;
      busy++;
      inSink[at] = true;
      result.then(
        () => {
          busy--;
          inSink[at] = false;
          if (failure) settle();
          else if (rest) take(rest);
          else if (busy === 0 && filled > 0)
            handOn(); // the sink caught up: hand on what waits
          else if (ended) settle();
        },
        (error: unknown) => {
          busy--;
          inSink[at] = false;
          fail(error);
        },
      );
    };
    /** Copy `chunk` into the buffers; false when it had to stop at a buffer in the sink. */
    const take = (chunk: Buffer): boolean => {
      rest = undefined;
      for (let at = 0; at < chunk.length; ) {
        if (failure) return false;
        if (inSink[stage]) {
          rest = chunk.subarray(at);
          paused = true;
          body.pause();
          return false;
        }
        stages[stage] ??= Buffer.allocUnsafeSlow(stageBytes);
        const n = chunk.copy(stages[stage] as Buffer, filled, at);
        filled += n;
        at += n;
        if (filled === stageBytes || busy === 0) handOn();
      }
      if (ended) {
        if (filled > 0 && !failure) handOn();
        settle();
      } else if (paused) {
        paused = false;
        body.resume();
      }
      return true;
    };
    const onData = (chunk: Buffer): void => {
      take(chunk);
    };
    const onEnd = (): void => {
      ended = true;
      if (rest) return; // handed on once the sink frees a buffer
      if (filled > 0) handOn();
      settle();
    };
    const onError = (error: Error): void => fail(error);
    const onClose = (): void => {
      if (ended) return;
      const error = new Error('the stream closed before its end');
      fail(Object.assign(error, { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
  });
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
  return new Promise((resolve, reject) => {
    let busy = 0;
    let bytesInSink = 0;
    let ended = false;
    let paused = false;
    let failure: { error: unknown } | undefined;

    const settle = (): void => {
      if (busy > 0 || !(failure || ended)) return;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      if (failure) {
        if (!body.destroyed) body.destroy();
        reject(failure.error);
      } else resolve();
    };
    const fail = (error: unknown): void => {
      failure ??= { error };
      body.pause();
      settle();
    };
    const onData = (chunk: Buffer): void => {
      if (failure) return;
      let result: Promise<void> | undefined;
      try {
        result = sink(chunk);
      } catch (error) {
        fail(error);
        return;
      }
      if (!result) return;
      busy++;
      bytesInSink += chunk.length;
      if (bytesInSink >= maxBytes && !paused) {
        paused = true;
        body.pause();
      }
      result.then(
        () => {
          busy--;
          bytesInSink -= chunk.length;
          if (failure || ended) settle();
          else if (paused && bytesInSink < maxBytes) {
            paused = false;
            body.resume();
          }
        },
        (error: unknown) => {
          busy--;
          bytesInSink -= chunk.length;
          fail(error);
        },
      );
    };
    const onEnd = (): void => {
      ended = true;
      settle();
    };
    const onError = (error: Error): void => fail(error);
    const onClose = (): void => {
      if (ended) return;
      const error = new Error('the stream closed before its end');
      fail(Object.assign(error, { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
  });
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
