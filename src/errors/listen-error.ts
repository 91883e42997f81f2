import { OcipeekError } from './ocipeek-error.js';

/** Phrases for the errno codes a server's `listen` fails with. */
const REASONS: Record<string, string> = {
  EADDRINUSE: 'the address is already in use',
  EADDRNOTAVAIL: 'no interface of this machine has that address',
  EACCES: 'permission denied (ports below 1024 need privileges)',
};

/**
 * A server could not listen on its address: the port is taken, the address is not one of
 * this machine's, or the port needs privileges. `reason` is the errno code (`EADDRINUSE`).
 */
export class ListenError extends OcipeekError {
  static readonly code = 'ERR_LISTEN';
  constructor(
    /** The address as asked for (`127.0.0.1:5000`). */
    readonly address: string,
    readonly reason: string | undefined,
    options?: { cause?: unknown },
  ) {
    const phrase = (reason && REASONS[reason]) ?? (options?.cause as Error)?.message ?? 'failed';
    super(
      ListenError.code,
      `cannot listen on ${address}: ${phrase}${reason ? ` (${reason})` : ''}; choose another address (port 0 picks a free one)`,
      options,
    );
  }
}
