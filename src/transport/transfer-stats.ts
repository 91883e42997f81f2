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
  private readonly started = performance.now();

  /** Seconds since these stats were created. */
  get seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** The CLI's one-line summary: `stats: requests=N bytesFetched=N seconds=S`. */
  toString(): string {
    return `stats: requests=${this.requests} bytesFetched=${this.bytesFetched} seconds=${this.seconds.toFixed(3)}`;
  }
}
