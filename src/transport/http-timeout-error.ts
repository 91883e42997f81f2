/** A request or a body that stayed silent too long; `code` says which. */
export class HttpTimeoutError extends Error {
  readonly code: 'ETIMEDOUT_HEADERS' | 'ETIMEDOUT_BODY';
  constructor(phase: 'headers' | 'body', ms: number) {
    super(
      phase === 'headers' ? `no response within ${ms} ms` : `response body stalled for ${ms} ms`,
    );
    this.name = 'HttpTimeoutError';
    this.code = phase === 'headers' ? 'ETIMEDOUT_HEADERS' : 'ETIMEDOUT_BODY';
  }
}
