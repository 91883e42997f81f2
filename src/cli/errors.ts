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
  const system = systemErrorLine(err);
  if (system) return system;
  const message = err instanceof Error ? err.message : String(err);
  return `unexpected error: ${message.split('\n')[0]}`;
}

/** What the errno codes a command may meet on files and sockets mean, in words. */
const ERRNO_PHRASES: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a file is where a directory should be',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this machine',
};

/**
 * A Node system error that no library code turned into an ocipeek error, as one line
 * naming the call, the path and the errno code (`cannot mkdir /x: already exists
 * (EEXIST)`) instead of Node's raw text.
 */
function systemErrorLine(err: unknown): string | undefined {
  const e = err as (NodeJS.ErrnoException & { dest?: string }) | undefined;
  if (!e || typeof e.code !== 'string' || !/^E[A-Z0-9]+$/.test(e.code) || !e.syscall) {
    return undefined;
  }
  const phrase = ERRNO_PHRASES[e.code] ?? e.message.split('\n')[0];
  const where = e.path ? ` ${e.path}${e.dest ? ` -> ${e.dest}` : ''}` : '';
  return `cannot ${e.syscall}${where}: ${phrase} (${e.code})`;
}
