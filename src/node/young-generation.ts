import { setFlagsFromString } from 'node:v8';

/**
 * V8 majors known to have `--semi-space-growth-factor` (Node 20: 11.3, Node 22: 12.4). An
 * unknown flag is not an error but prints one to stderr, so newer V8s are left alone.
 */
const KNOWN_V8_MAJORS = new Set([11, 12]);

/** Holds in force (see {@link holdYoungGeneration}). */
let holds = 0;

function setGrowthFactor(factor: number): void {
  setFlagsFromString(`--semi-space-growth-factor=${factor}`);
}

/**
 * Keep V8's young generation at the size it has now (near the process's start: two
 * semi-spaces of 1-2 MiB) while a long run allocates a lot of short-lived memory (the
 * CLI's unpack), and give back a function that lets it grow again.
 *
 * Why: under allocation pressure V8 doubles the young generation up to two 16 MiB
 * semi-spaces, and an unpack keeps it there. Both stay resident (32 MiB), and a scavenge
 * comes only every ~16 MiB of allocation, so the dead 1 MiB zlib output buffers of that
 * stretch (memory outside the heap, freed by the scavenge) wait that long too: together
 * most of the distance to unpack's 128 MB target (bench/ANALYSIS.md, fifth session).
 * `--max-semi-space-size` can only be given when node starts, for every command; the
 * growth factor is read each time the space would grow, so it can be set for the one
 * command that needs it, at the price of more scavenges. Library users keep V8's
 * defaults: only the CLI owns its process.
 */
export function holdYoungGeneration(): () => void {
  const major = Number(process.versions.v8.split('.')[0]);
  if (!KNOWN_V8_MAJORS.has(major)) return () => {};
  holds++;
  setGrowthFactor(1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holds === 0) setGrowthFactor(2);
  };
}

/**
 * Starting a worker thread puts V8's flags back as node started with them (measured on
 * Node 20, at some point of the worker's start-up that can come after its `online` event
 * and its first answer): the owner of a thread that runs beside a hold calls this as the
 * thread goes on answering.
 */
export function reapplyYoungGenerationHold(): void {
  if (holds > 0) setGrowthFactor(1);
}
