/**
 * Counters of what a client sent and received, shared by every request it makes. The CLI's
 * `--stats` line and the "bytes fetched" figures in results come from here.
 */
export class TransferStats {
  /** HTTP requests sent (each retry and redirect counts). */
  requests = 0;
  /** Response body bytes received. */
  bytesFetched = 0;
  /** Bytes sent in request bodies. */
  bytesSent = 0;
  // process.hrtime rather than the global `performance`, whose first use loads perf_hooks
  // (~3 ms of every short command's start-up).
  private readonly started = process.hrtime.bigint();

  /** Seconds since these stats were created. */
  get seconds(): number {
    return Number(process.hrtime.bigint() - this.started) / 1e9;
  }

  /** The CLI's one-line summary: `stats: requests=N bytesFetched=N seconds=S`. */
  toString(): string {
    return `stats: requests=${this.requests} bytesFetched=${this.bytesFetched} seconds=${this.seconds.toFixed(3)}`;
  }
}
