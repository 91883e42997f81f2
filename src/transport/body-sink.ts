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
 * Feed an ordinary stream to a sink: chunks are gathered into a few reused 256 KiB
 * buffers, each handed to the sink when full, at most {@link STAGES} at once. TLS
 * delivers 16 KiB at a time and files 64 KiB, so a sink that writes each piece to a file
 * makes one system call per 256 KiB instead of one per chunk; the copy is a memcpy.
 */
export async function pipeReadableTo(body: Readable, sink: BodySink): Promise<void> {
  const stages: Buffer[] = [];
  const inSink: Array<Promise<void> | undefined> = [];
  let stage = 0;
  let filled = 0;
  let failure: { error: unknown } | undefined;
  const pass = async (): Promise<void> => {
    const piece = (stages[stage] as Buffer).subarray(0, filled);
    filled = 0;
    const result = sink(piece);
    // Handled at once (a rejection noticed later would count as unhandled); rethrown below.
    inSink[stage] = result?.then(undefined, (error: unknown) => {
      failure ??= { error };
    });
    stage = (stage + 1) % STAGES;
    // The next stage may still be in the sink: wait for it before filling it again.
    await inSink[stage];
    inSink[stage] = undefined;
    if (failure) throw failure.error;
  };
  try {
    for await (const chunk of body) {
      const bytes = chunk as Buffer;
      for (let at = 0; at < bytes.length; ) {
        stages[stage] ??= Buffer.allocUnsafeSlow(STAGE_BYTES);
        const n = bytes.copy(stages[stage] as Buffer, filled, at);
        filled += n;
        at += n;
        if (filled === STAGE_BYTES) await pass();
      }
    }
    if (filled > 0) await pass();
  } finally {
    // On failure too: nothing may still be reading a stage when the caller cleans up.
    await Promise.all(inSink);
  }
  if (failure) throw failure.error;
}
