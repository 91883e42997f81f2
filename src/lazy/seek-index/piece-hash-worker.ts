/**
 * Hashing thread of {@link PieceHasher}: hashes the output the main thread copies into the
 * shared ring, cut where the main thread says a piece ends, packs the checkpoints' windows
 * from the same ring where the main thread asks for them, and replies with the digests and
 * windows once the main thread is done. One layer per thread.
 */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { packWindow } from './pack-window.js';
import {
  C,
  CUT_SLOTS,
  type PieceHashReply,
  type PieceHashShared,
  RING_BYTES,
  WINDOW_FIELDS,
  WINDOW_SLOTS,
  WindowKind,
} from './piece-hash-layout.js';

const shared = workerData as PieceHashShared;
const control = new Int32Array(shared.control);
const ring = new Uint8Array(shared.ring);
const cuts = new Int32Array(shared.cuts);
const windowSlots = new Int32Array(shared.windows);

/** The `length` ring bytes before WRITTEN count `end` (copied when they wrap). */
function ringBytesBefore(end: number, length: number): Uint8Array {
  const to = (end >>> 0) % RING_BYTES;
  if (to >= length) return ring.subarray(to - length, to);
  const w = new Uint8Array(length);
  w.set(ring.subarray(RING_BYTES - (length - to)), 0);
  w.set(ring.subarray(0, to), length - to);
  return w;
}

function run(): PieceHashReply {
  const digests: string[] = [];
  const windows: Uint8Array[] = [];
  const members: number[] = [];
  let crc = 0;
  let hash = createHash('sha256');
  let hashed = 0;
  let cutsSeen = 0;
  let windowsSeen = 0;
  for (;;) {
    const seq = Atomics.load(control, C.SEQ);
    const done = Atomics.load(control, C.DONE) === 1;
    // WRITTEN before the piece ends and windows: the writer publishes each after the bytes
    // before it, so one not seen here lies at or after this WRITTEN, and hashing stops
    // there. (Read the other way round, a request published between the reads could lie
    // before a WRITTEN read after it, and the bytes past it were hashed before its window
    // was packed: the window then came from bytes written over, a race seen as a 1 GiB
    // layer's records differing in 1 run of 4.)
    const written = Atomics.load(control, C.WRITTEN);
    const published = Atomics.load(control, C.CUTS);
    const asked = Atomics.load(control, C.WINDOWS);
    let progressed = false;
    for (;;) {
      const slot = (windowsSeen % WINDOW_SLOTS) * WINDOW_FIELDS;
      const toWindow =
        windowsSeen !== asked ? (windowSlots[slot]! - hashed) >>> 0 : Number.POSITIVE_INFINITY;
      const toCut =
        cutsSeen !== published
          ? (cuts[cutsSeen % CUT_SLOTS]! - hashed) >>> 0
          : Number.POSITIVE_INFINITY;
      // Up to whichever comes first in the stream: a window, a piece end, what is written.
      const ahead = Math.min((written - hashed) >>> 0, toWindow, toCut);
      if (ahead > 0) {
        // Never across the ring's end.
        const from = (hashed >>> 0) % RING_BYTES;
        const n = Math.min(ahead, RING_BYTES - from);
        const bytes = ring.subarray(from, from + n);
        hash.update(bytes);
        if (shared.crc) crc = crc32(bytes, crc);
        hashed = (hashed + n) | 0;
        Atomics.store(control, C.HASHED, hashed);
      } else if (toWindow === 0) {
        const kind = windowSlots[slot + 2]!;
        if (kind === WindowKind.MEMBER_END) {
          members.push(crc);
          crc = 0;
        } else {
          // The main thread keeps the WINDOW_KEEP bytes before HASHED: these are whole.
          const length = windowSlots[slot + 1]!;
          windows.push(packWindow(ringBytesBefore(hashed, length), kind === WindowKind.STORED));
        }
        windowsSeen = (windowsSeen + 1) | 0;
        Atomics.store(control, C.PACKED, windowsSeen);
      } else if (toCut === 0) {
        digests.push(`sha256:${hash.digest('hex')}`);
        hash = createHash('sha256');
        cutsSeen = (cutsSeen + 1) | 0;
        Atomics.store(control, C.DIGESTED, cutsSeen);
      } else {
        break; // everything seen is done
      }
      Atomics.add(control, C.PROGRESS, 1);
      Atomics.notify(control, C.PROGRESS);
      progressed = true;
    }
    if (done) {
      if (
        hashed !== Atomics.load(control, C.WRITTEN) ||
        windowsSeen !== Atomics.load(control, C.WINDOWS)
      ) {
        continue;
      }
      return { digests, windows, members };
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
  reply = run();
} catch (err) {
  reply = { error: err instanceof Error ? err.message : String(err) };
}
parentPort!.postMessage(reply);
