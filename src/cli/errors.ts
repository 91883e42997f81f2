import { isOcipeekError } from '../errors/index.js';

/** Exit codes: 1 for failures, 2 for usage mistakes. */
export function exitCodeFor(err: unknown): number {
  if (isOcipeekError(err, 'ERR_INVALID_ARGUMENT') || isOcipeekError(err, 'ERR_INVALID_REFERENCE')) {
    return 2;
  }
  return 1;
}

/** One line for stderr: the message, plus the stack when `verbose`. */
export function describeError(err: unknown, verbose: boolean): string {
  if (verbose && err instanceof Error && err.stack) {
    let text = err.stack;
    let cause = err.cause;
    for (let depth = 0; cause && depth < 5; depth++) {
      text += `\ncaused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`;
      cause = cause instanceof Error ? cause.cause : undefined;
    }
    return text;
  }
  if (isOcipeekError(err)) return err.message.split('\n')[0] ?? err.message;
  if ((err as Error)?.name === 'AbortError') return 'interrupted';
  const message = err instanceof Error ? err.message : String(err);
  return `unexpected error: ${message.split('\n')[0]}`;
}
