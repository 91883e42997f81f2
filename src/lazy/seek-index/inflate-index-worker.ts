/**
 * Inflate thread of a seek index build (inflate-on-thread.ts): takes the layer's
 * compressed chunks from its port, runs the pass (LayerIndexer: inflate stopping at every
 * block, checkpoints, pieces, members) and writes the output into the piece hashing ring,
 * where the hashing thread hashes it and packs the windows and the main thread scans the
 * tar. Replies with the pass, or with what failed. One layer per thread.
 */
import {
  type MessagePort,
  parentPort,
  receiveMessageOnPort,
  workerData,
} from 'node:worker_threads';
import { DecompressionError } from '../../errors/index.js';
import type { InflateThreadData, InflateThreadReply } from './inflate-on-thread.js';
import { LayerIndexer, type LayerPass } from './layer-indexer.js';
import { C } from './piece-hash-layout.js';
import { PieceRingWriter } from './piece-ring-writer.js';

const data = workerData as InflateThreadData;
const control = new Int32Array(data.shared.control);
const port = data.port as MessagePort;
const writer = new PieceRingWriter(data.shared, true);

/**
 * The next compressed chunk, waiting for the main thread to post one (null: the input
 * ended). Before waiting, everything written is published, so the tar scan can go on.
 */
function nextChunk(): Uint8Array | null {
  for (;;) {
    const posted = Atomics.load(control, C.INPUT_POSTED);
    const m = receiveMessageOnPort(port);
    if (m) {
      Atomics.add(control, C.INPUT_TAKEN, 1);
      Atomics.notify(control, C.INPUT_TAKEN);
      return m.message as Uint8Array | null;
    }
    writer.publish(true);
    Atomics.wait(control, C.INPUT_POSTED, posted);
  }
}

function run(): LayerPass {
  const indexer = new LayerIndexer(data.digest, { ...data.options, check: true }, writer);
  try {
    for (let chunk = nextChunk(); chunk !== null; chunk = nextChunk()) {
      // The output went into the ring as it was made (writer.update): nothing to do here.
      for (const _ of indexer.write(chunk));
    }
    const end = indexer.end();
    for (let r = end.next(); ; r = end.next()) {
      if (r.done) return r.value;
    }
  } finally {
    indexer.close();
  }
}

let reply: InflateThreadReply;
try {
  const pass = run();
  writer.finish();
  reply = { pass };
} catch (err) {
  // Wake the main thread wherever it waits (for output or for room for input).
  Atomics.store(control, C.FAILED, 1);
  Atomics.add(control, C.INPUT_TAKEN, 1);
  Atomics.notify(control, C.INPUT_TAKEN);
  Atomics.add(control, C.SEQ, 1);
  Atomics.notify(control, C.SEQ);
  reply =
    err instanceof DecompressionError
      ? { decompression: err.detail }
      : { error: err instanceof Error ? err.message : String(err) };
}
parentPort!.postMessage(reply);
