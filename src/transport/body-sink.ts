import type { Readable } from 'node:stream';

/**
 * Receives a body piece by piece, in order. A piece is a view of memory that is reused
 * once the sink is done with it: the sink must finish with it before it returns, or
 * return a promise and finish before that settles (an asynchronous positioned write). A
 * sink that throws or rejects ends the transfer with that error.
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

/** Size of the pieces {@link pipeReadableTo} gathers, and how many may be in the sink. */
const STAGE_BYTES = 256 * 1024;
const STAGES = 4;

/**
 * Feed an ordinary stream to a sink through a few reused 256 KiB buffers. Chunks are
 * gathered while the sink is busy and handed on as one piece when a buffer is full or the
 * sink has nothing left to do, as a write stream batches `writev` calls: TLS delivers
 * 16 KiB records, and a sink that writes each piece to a file then makes one system call
 * per batch rather than per record. At most {@link STAGES} pieces are in the sink at once.
 * The copy into the buffer is a memcpy.
 */
export async function pipeReadableTo(body: Readable, sink: BodySink): Promise<void> {
  const stages: Buffer[] = [];
  const inSink: Array<Promise<void> | undefined> = [];
  let busy = 0;
  let stage = 0;
  let filled = 0;
  let waitingForSource = false;
  let failure: { error: unknown } | undefined;
  const check = (): void => {
    if (failure) throw failure.error;
  };
  const handOn = (): void => {
    const piece = (stages[stage] as Buffer).subarray(0, filled);
    filled = 0;
    const result = sink(piece);
    if (result) {
      busy++;
      // Handled at once (a rejection noticed later would count as unhandled); rethrown below.
      inSink[stage] = result.then(
        () => sinkIdle(),
        (error: unknown) => {
          failure ??= { error };
          sinkIdle();
        },
      );
    }
    stage = (stage + 1) % STAGES;
  };
  const sinkIdle = (): void => {
    // The sink caught up while the source is quiet: hand on what was gathered meanwhile.
    if (--busy === 0 && filled > 0 && waitingForSource && !failure) handOn();
  };
  const chunks = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      waitingForSource = true;
      const next = await chunks.next();
      waitingForSource = false;
      check();
      if (next.done) break;
      const bytes = next.value as Buffer;
      for (let at = 0; at < bytes.length; ) {
        if (inSink[stage]) {
          // That buffer may still be in the sink: wait for it before filling it again.
          await inSink[stage];
          inSink[stage] = undefined;
          check();
        }
        stages[stage] ??= Buffer.allocUnsafeSlow(STAGE_BYTES);
        const n = bytes.copy(stages[stage] as Buffer, filled, at);
        filled += n;
        at += n;
        if (filled === STAGE_BYTES || busy === 0) handOn();
      }
    }
    if (filled > 0) handOn();
  } catch (err) {
    await chunks.return?.();
    throw err;
  } finally {
    // On failure too: nothing may still be reading a buffer when the caller cleans up.
    await Promise.all(inSink);
  }
  check();
}

/**
 * Feed `source` to `sink` the cheapest way it offers: {@link SinkSource.pipeTo} when it
 * has it (a verified blob from a plain-HTTP registry: views, no copy), else
 * {@link pipeReadableTo}. Aborting `signal` destroys the source and rejects with the
 * signal's reason, once nothing is in the sink any more.
 */
export async function feedSink(
  source: Readable,
  sink: BodySink,
  signal?: AbortSignal,
): Promise<void> {
  signal?.throwIfAborted();
  const onAbort = () => source.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await (canPipeTo(source) ? source.pipeTo(sink) : pipeReadableTo(source, sink));
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
