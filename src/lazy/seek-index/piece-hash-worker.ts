/**
 * Hashing thread of {@link PieceHasher}: hashes the output the main thread copies into the
 * shared ring, cut where the main thread says a piece ends, and replies with the digests
 * once the main thread is done. One layer per thread.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import {
  C,
  CUT_SLOTS,
  type PieceHashReply,
  type PieceHashShared,
  RING_BYTES,
} from './piece-hash-layout.js';

const shared = workerData as PieceHashShared;
const control = new Int32Array(shared.control);
const ring = new Uint8Array(shared.ring);
const cuts = new Int32Array(shared.cuts);

function run(): string[] {
  const digests: string[] = [];
  let hash = createHash('sha256');
  let hashed = 0;
  let cutsSeen = 0;
  for (;;) {
    const seq = Atomics.load(control, C.SEQ);
    const done = Atomics.load(control, C.DONE) === 1;
    const written = Atomics.load(control, C.WRITTEN);
    const published = Atomics.load(control, C.CUTS);
    let progressed = false;
    while (hashed !== written || cutsSeen !== published) {
      const nextCut = cutsSeen !== published ? cuts[cutsSeen % CUT_SLOTS]! : written;
      if (hashed !== nextCut) {
        // Up to the cut or what is written, never across the ring's end.
        const from = (hashed >>> 0) % RING_BYTES;
        const n = Math.min((nextCut - hashed) >>> 0, RING_BYTES - from);
        hash.update(ring.subarray(from, from + n));
        hashed = (hashed + n) | 0;
        Atomics.store(control, C.HASHED, hashed);
      } else {
        digests.push(`sha256:${hash.digest('hex')}`);
        hash = createHash('sha256');
        cutsSeen = (cutsSeen + 1) | 0;
        Atomics.store(control, C.DIGESTED, cutsSeen);
      }
      Atomics.add(control, C.PROGRESS, 1);
      Atomics.notify(control, C.PROGRESS);
      progressed = true;
    }
    if (done) {
      if (hashed !== Atomics.load(control, C.WRITTEN)) continue;
      return digests;
    }
    if (progressed) continue;
    // See the main side (PieceHasher.publish): SLEEPING is set before waiting, so a
    // publication either changed SEQ before the wait (which then returns at once) or, when
    // it wakes the thread (every MiB, at the end, or when it waits for room), sees SLEEPING.
    Atomics.store(control, C.SLEEPING, 1);
    Atomics.wait(control, C.SEQ, seq);
    Atomics.store(control, C.SLEEPING, 0);
  }
}

let reply: PieceHashReply;
try {
  reply = { digests: run() };
} catch (err) {
  reply = { error: err instanceof Error ? err.message : String(err) };
}
parentPort!.postMessage(reply);
