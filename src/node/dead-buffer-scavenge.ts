import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * V8 majors whose `gc` takes `{ type: 'minor' }` as tested (Node 20: 11.3, Node 22: 12.4);
 * elsewhere {@link scavengeEvery} leaves V8 alone.
 */
const KNOWN_V8_MAJORS = new Set([11, 12]);

/** A scavenge of the young generation only, once {@link scavengeEvery} enabled it. */
let scavenge: (() => void) | undefined;
/** Bytes between two scavenges (0: off). */
let every = 0;
/** Bytes counted since the last scavenge. */
let counted = 0;

/**
 * Scavenge V8's young generation after every `bytes` of short-lived buffers reported by
 * {@link countDeadBuffers}; gives back a function that turns it off again.
 *
 * Why: Node's HTTP parser hands a request body on as a fresh copy per chunk (up to
 * 64 KiB, memory outside the heap), freed only when a scavenge finds its `Buffer` dead.
 * A scavenge comes when the young generation fills ("allocation failure" in
 * `--trace-gc`), or when the young generation's buffers grow past V8's external-memory
 * trigger ("external memory pressure": at 32-38 MB of them, also with
 * `--max-semi-space-size=1`). A registry upload written on the main thread (into tmpfs)
 * allocates so little JavaScript per chunk that only the second came: the +11 MB of peak
 * RSS against writes on the pool, whose promises filled the young generation sooner
 * (bench/ANALYSIS.md, hup, twelfth session). Scavenging a young generation of dead
 * chunks is cheap: with one every 4 MiB the app push took less server CPU, not more.
 *
 * The scavenge is V8's `gc({ type: 'minor' })`, taken from a fresh context with
 * `--expose-gc` on for that one moment (no global `gc` is left in the process's contexts).
 * Only the CLI calls this (it owns its process); library users keep V8's behaviour.
 */
export function scavengeEvery(bytes: number): () => void {
  const major = Number(process.versions.v8.split('.')[0]);
  if (!KNOWN_V8_MAJORS.has(major) || !(bytes > 0)) return () => {};
  if (!scavenge) {
    setFlagsFromString('--expose-gc');
    try {
      const gc = runInNewContext('gc') as (options: { type: 'minor' }) => void;
      scavenge = () => gc({ type: 'minor' });
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  every = bytes;
  counted = 0;
  return () => {
    every = 0;
  };
}

/**
 * `bytes` of buffers that die as soon as their caller returns (an upload's body chunk,
 * written): after {@link scavengeEvery}'s amount of them, a scavenge frees them. Costs
 * an addition while off.
 */
export function countDeadBuffers(bytes: number): void {
  if (every === 0) return;
  counted += bytes;
  if (counted < every) return;
  counted = 0;
  scavenge?.();
}
