import { getSystemErrorName } from 'node:util';
import { koffi, library } from './koffi.js';

/** A path as Node's fs takes it: a string (written as UTF-8) or raw bytes. */
export type NativePath = string | Buffer;

let strerror: ((errno: number) => string) | undefined;

/**
 * The error Node would throw for `syscall` failing with `errno` (the current errno when
 * omitted): `code`, `errno`, `syscall`, `path`, and the message `EPERM: Operation not
 * permitted, mknod '/x'` with the C library's own wording.
 */
export function errnoError(
  syscall: string,
  path?: NativePath,
  errno: number = koffi().errno(),
): NodeJS.ErrnoException {
  strerror ??= library(null, 'the C library').func('const char *strerror(int errnum)') as (
    errno: number,
  ) => string;
  const code = getSystemErrorName(-errno);
  const shown = path === undefined ? undefined : typeof path === 'string' ? path : path.toString();
  const err: NodeJS.ErrnoException = new Error(
    `${code}: ${strerror(errno)}, ${syscall}${shown === undefined ? '' : ` '${shown}'`}`,
  );
  err.errno = -errno;
  err.code = code;
  err.syscall = syscall;
  if (shown !== undefined) err.path = shown;
  return err;
}
