import { OcipeekError } from './ocipeek-error.js';

/** An index that has no manifest for the requested platform. */
export class PlatformNotFoundError extends OcipeekError {
  static readonly code = 'ERR_PLATFORM_NOT_FOUND';
  constructor(
    readonly wanted: string,
    readonly available: string[],
    /** What to do about it, appended to the message. */
    hint?: string,
  ) {
    super(
      PlatformNotFoundError.code,
      `no manifest for platform ${wanted} (available: ${available.join(', ') || 'none'})${hint ? `: ${hint}` : ''}`,
    );
  }
}
