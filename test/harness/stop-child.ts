import type { ChildProcess } from 'node:child_process';

/** How a child process ended. */
export interface ChildEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Send `signal` to `child` and resolve when it has exited, with how it ended. A child that
 * has already exited resolves at once: its 'exit' event has passed, and waiting for it
 * would hang until the test file's timeout.
 */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<ChildEnd> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, end) => resolve({ code, signal: end }));
    child.kill(signal);
  });
}
