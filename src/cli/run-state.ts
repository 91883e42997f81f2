import type { CliContext } from './context.js';

/**
 * What one CLI run shares between `main` and the commands: the context once a command has
 * built it, and the abort signal SIGINT/SIGTERM trip. Kept apart from `context.ts` so that
 * `main` can start without loading the registry client.
 */
let current: CliContext | undefined;
const abort = new AbortController();

/** The context if one was created (for the exit-time stats line and cleanup). */
export function existingContext(): CliContext | undefined {
  return current;
}

/** Remember the context a command built. */
export function setContext(ctx: CliContext): void {
  current = ctx;
}

/** Cancelled when the run is interrupted. */
export const runSignal: AbortSignal = abort.signal;

const cleanups: Array<() => Promise<void>> = [];

/**
 * Run `cleanup` when the command is done, however it ended (an opened archive's extracted
 * folder is removed there).
 */
export function atExit(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/** Run what {@link atExit} collected, last first; a failing cleanup does not stop the others. */
export async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
}

/** Abort in-flight work (signal handlers call this). */
export function abortRun(reason: string): void {
  abort.abort(new Error(reason));
}

let failureCode = 1;

/**
 * The exit code of a failed run for commands whose 1 means something else: `diff` exits 1
 * when the images differ, so its failures exit 2, as diff(1)'s do.
 */
export function setFailureExitCode(code: number): void {
  failureCode = code;
}

/** The exit code for a failure that is not a usage mistake. */
export function failureExitCode(): number {
  return failureCode;
}
