/**
 * Inflate thread of a seek index build (inflate-on-thread.ts): takes the layer's
 * compressed bytes from the input ring the main thread writes, runs the pass (LayerIndexer: inflate stopping at every
 * block, checkpoints, pieces, members) and writes the output into the piece hashing ring,
 * where the hashing thread hashes it and packs the windows and the main thread scans the
 * tar. Replies with the pass, or with what failed. One layer per thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DecompressionError } from '../../errors/index.js';
import type {
  InflateThreadData,
  InflateThreadJob,
  InflateThreadReply,
} from './inflate-on-thread.js';
import { LayerIndexer, type LayerPass } from './layer-indexer.js';
import { C, INPUT_RING_BYTES, WAKE } from './piece-hash-layout.js';
import { PieceRingWriter } from './piece-ring-writer.js';

const data = workerData as InflateThreadData;
const control = new Int32Array(data.shared.control);
const input = new Uint8Array(data.input);
const wakeMain = () => parentPort!.postMessage(WAKE);
const writer = new PieceRingWriter(data.shared, wakeMain);
/** Bytes of the input ring used so far (INPUT_READ). */
let read = 0;

/**
 * The next compressed bytes in the input ring, in place (null: the layer ended), waiting
 * for the main thread to write some. Before waiting, everything written is published, so
 * the tar scan can go on.
 */
function nextChunk(): Uint8Array | null {
  for (;;) {
    const written = Atomics.load(control, C.INPUT_WRITTEN);
    if (written !== read) {
      const from = (read >>> 0) % INPUT_RING_BYTES;
      const n = Math.min((written - read) >>> 0, INPUT_RING_BYTES - from);
      return input.subarray(from, from + n);
    }
    if (
      Atomics.load(control, C.INPUT_END) === 1 &&
      Atomics.load(control, C.INPUT_WRITTEN) === read
    ) {
      return null;
    }
    writer.publish(true);
    Atomics.wait(control, C.INPUT_WRITTEN, written);
  }
}

/** `n` bytes of the input ring are used (inflated; zlib took its own copy): room again. */
function used(n: number): void {
  read = (read + n) | 0;
  Atomics.store(control, C.INPUT_READ, read);
  if (Atomics.load(control, C.INPUT_WAITING) === 1) wakeMain();
}

function run(job: InflateThreadJob): LayerPass {
  const indexer = new LayerIndexer(job.digest, { ...job.options, check: true }, writer);
  try {
    for (let chunk = nextChunk(); chunk !== null; chunk = nextChunk()) {
      // The output went into the ring as it was made (writer.update): nothing to do here.
      for (const _ of indexer.write(chunk));
      used(chunk.length);
    }
    const end = indexer.end();
    for (let r = end.next(); ; r = end.next()) {
      if (r.done) return r.value;
    }
  } finally {
    indexer.close();
  }
}

/** The pass of the layer `job` names, or what failed. */
function runJob(job: InflateThreadJob): InflateThreadReply {
  try {
    const pass = run(job);
    writer.finish();
    return { pass };
  } catch (err) {
    // The reply wakes the main thread wherever it waits.
    Atomics.store(control, C.FAILED, 1);
    return err instanceof DecompressionError
      ? { decompression: err.detail }
      : { error: err instanceof Error ? err.message : String(err) };
  }
}

// Started ahead of its layer (warmSeekIndexThreads): the layer comes as the one message.
parentPort!.once('message', (job: InflateThreadJob) => {
  parentPort!.postMessage(runJob(job));
});
