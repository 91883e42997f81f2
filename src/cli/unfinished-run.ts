import { failureExitCode } from './run-state.js';

/** Set `done` once the command has finished; until then an empty event loop is a bug. */
export interface RunFinished {
  done: boolean;
}

/**
 * A command whose promise waits on something that can no longer happen (nothing pending:
 * no socket, timer, file operation or thread) would otherwise end the process with code 0
 * and no output, as if it had succeeded: Node exits when its event loop is empty. Such a
 * run is a bug of ours, and it fails with one line that says so.
 */
export function failIfRunEndsUnfinished(): RunFinished {
  const finished: RunFinished = { done: false };
  process.once('beforeExit', () => {
    if (finished.done) return;
    process.stderr.write(
      'ocipeek: internal error: the command stopped before it finished, waiting on nothing (a bug; please report it with the command line)\n',
    );
    process.exit(failureExitCode());
  });
  return finished;
}
