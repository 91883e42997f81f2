import { Metrics } from '../registry/metrics.js';
import { noteResponseHeader } from '../registry/response-notes.js';

/** What the cache did for one request. */
export type CacheResult =
  /** Served from the memory or persistent tier without asking upstream. */
  | 'hit'
  /** Fetched from upstream (or joined a fetch in flight). */
  | 'miss'
  /** A cached tag upstream confirmed with one HEAD. */
  | 'revalidated'
  /** Served from the cache because upstream could not be asked (stale-if-error). */
  | 'stale';

/**
 * The pull-through cache's counters in the server's `/metrics`, and the
 * `X-Ocipeek-Cache` header saying what happened to each answer.
 */
export class CacheCounters {
  constructor(readonly metrics: Metrics = new Metrics()) {}

  /** Count a request for a `kind` (manifest, blob, tags) and mark the answer. */
  result(
    kind: 'manifest' | 'blob' | 'tags',
    result: CacheResult,
    tier?: 'memory' | 'storage',
  ): void {
    this.metrics.count(
      'ocipeek_cache_requests_total',
      'Pull-through cache lookups by kind and result (hit, miss, revalidated, stale).',
      { kind, result },
    );
    noteResponseHeader('X-Ocipeek-Cache', tier && result === 'hit' ? `hit; tier=${tier}` : result);
    if (result === 'stale') {
      noteResponseHeader('Warning', '110 - "Response is Stale"');
    }
  }

  /** Blob bytes served from a cache tier: bytes upstream did not have to send. */
  saved(bytes: number, tier: 'memory' | 'storage'): void {
    this.metrics.count(
      'ocipeek_cache_bytes_saved_total',
      'Blob bytes served from the cache instead of upstream, by tier.',
      { tier },
      bytes,
    );
  }

  /** Blob bytes fetched from upstream `registry`. */
  fetched(bytes: number, registry: string): void {
    this.metrics.count(
      'ocipeek_cache_upstream_bytes_total',
      'Blob bytes fetched from upstreams.',
      { upstream: registry },
      bytes,
    );
  }

  /** A failed upstream request of `registry`. */
  upstreamError(registry: string): void {
    this.metrics.count(
      'ocipeek_cache_upstream_errors_total',
      'Upstream requests that failed (unreachable, 429, 5xx).',
      { upstream: registry },
    );
  }

  /** A gauge read on each scrape. */
  gauge(name: string, help: string, read: () => number): void {
    this.metrics.gauge(name, help, read);
  }
}
